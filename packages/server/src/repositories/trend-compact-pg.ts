import { sql } from 'kysely';
import type { Db } from '../store/db.js';

/**
 * PostgreSQL form of TrendRepository.compact's fold (server decision 7): SQLite takes the bare
 * `value` from the row of `max(ts)`; PostgreSQL needs array_agg ordered by ts, an alias on the
 * subquery, and qualified columns in DO UPDATE.
 */
export async function compactPg(tx: Db, cutoff: string, sum: readonly string[], mean: readonly string[]): Promise<void> {
  await sql`
    INSERT INTO trend_points (host_id, metric, daily, ts, value, n)
    SELECT host_id, metric, 1, day,
      CASE WHEN metric IN (${sql.join(sum)}) THEN s WHEN metric IN (${sql.join(mean)}) THEN a ELSE last_value END, cnt
    FROM (
      SELECT host_id, metric, substr(ts, 1, 10) || 'T00:00:00.000Z' AS day, sum(value) AS s, avg(value) AS a,
        (array_agg(value ORDER BY ts DESC))[1] AS last_value, count(*) AS cnt
      FROM trend_points WHERE daily = 0 AND ts < ${cutoff} GROUP BY host_id, metric, substr(ts, 1, 10)
    ) AS g
    ON CONFLICT (host_id, metric, daily, ts) DO UPDATE SET
      value = CASE WHEN trend_points.metric IN (${sql.join(sum)}) THEN trend_points.value + excluded.value
                   WHEN trend_points.metric IN (${sql.join(mean)}) THEN (trend_points.value * trend_points.n + excluded.value * excluded.n) / (trend_points.n + excluded.n)
                   ELSE excluded.value END,
      n = trend_points.n + excluded.n`.execute(tx);
}
