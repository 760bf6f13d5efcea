import type { Insertable, Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { FleetTrendTable, TrendPointsTable } from '../store/schema.js';
import { dialectOf } from '../store/dialect.js';
import { compactPg } from './trend-compact-pg.js';

export type TrendPointRow = Selectable<TrendPointsTable>;
export type FleetTrendRow = Selectable<FleetTrendTable>;

/** How a metric's raw points fold into one per day (services/trends.ts decides per metric). */
export interface FoldRule {
  sum: readonly string[];
  mean: readonly string[];
  /** Every other metric keeps the day's last value. */
}

/** trend_points and fleet_trend (migration 0012). SQL only. */
export class TrendRepository {
  constructor(private readonly db: Db) {}

  /** Inserts raw points; a second point with the same (host, metric, ts) replaces the first. */
  async insertRaw(rows: Insertable<TrendPointsTable>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('trend_points')
      .values(rows.map((r) => ({ ...r, daily: 0, n: 1 })))
      .onConflict((oc) => oc.columns(['host_id', 'metric', 'daily', 'ts']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
  }

  /** Raw and daily points of one host in [since, until], by metric then time. */
  range(hostId: string, metrics: readonly string[], since: string, until: string): Promise<Omit<TrendPointRow, 'host_id'>[]> {
    return this.db
      .selectFrom('trend_points')
      .select(['metric', 'ts', 'value', 'daily', 'n'])
      .where('host_id', '=', hostId)
      .where('metric', 'in', [...metrics])
      .where('daily', 'in', [0, 1])
      .where('ts', '>=', since)
      .where('ts', '<=', until)
      .orderBy('metric')
      .orderBy('ts')
      .execute();
  }

  /**
   * Folds raw points older than `cutoff` into one row per (host, metric, UTC day) and deletes
   * them; a day that already has an aggregate is merged (sum adds, mean is weighted by `n`,
   * last takes the newer value). Then drops aggregates older than `dropBefore`.
   * Returns how many raw points were folded and how many aggregates were dropped.
   */
  async compact(cutoff: string, dropBefore: string, rule: FoldRule): Promise<{ folded: number; dropped: number }> {
    const sum = rule.sum.length ? rule.sum : [''];
    const mean = rule.mean.length ? rule.mean : [''];
    const pg = dialectOf(this.db) === 'postgres';
    return this.db.transaction().execute(async (tx) => {
      if (pg) await compactPg(tx, cutoff, sum, mean);
      else await sql`
        INSERT INTO trend_points (host_id, metric, daily, ts, value, n)
        SELECT host_id, metric, 1, day,
          CASE WHEN metric IN (${sql.join(sum)}) THEN s WHEN metric IN (${sql.join(mean)}) THEN a ELSE last_value END, cnt
        FROM (
          SELECT host_id, metric, substr(ts, 1, 10) || 'T00:00:00.000Z' AS day, sum(value) AS s, avg(value) AS a,
            value AS last_value, max(ts) AS newest, count(*) AS cnt
          FROM trend_points WHERE daily = 0 AND ts < ${cutoff} GROUP BY host_id, metric, day
        ) WHERE true
        ON CONFLICT (host_id, metric, daily, ts) DO UPDATE SET
          value = CASE WHEN metric IN (${sql.join(sum)}) THEN trend_points.value + excluded.value
                       WHEN metric IN (${sql.join(mean)}) THEN (trend_points.value * trend_points.n + excluded.value * excluded.n) / (trend_points.n + excluded.n)
                       ELSE excluded.value END,
          n = trend_points.n + excluded.n`.execute(tx);
      const folded = await tx.deleteFrom('trend_points').where('daily', '=', 0).where('ts', '<', cutoff).executeTakeFirst();
      const dropped = await tx.deleteFrom('trend_points').where('daily', '=', 1).where('ts', '<', dropBefore).executeTakeFirst();
      return { folded: Number(folded.numDeletedRows), dropped: Number(dropped.numDeletedRows) };
    });
  }

  /** Sets the fleet total of `day` (the latest write of a day wins). */
  async setFleetDay(row: FleetTrendRow): Promise<void> {
    await this.db
      .insertInto('fleet_trend')
      .values(row)
      .onConflict((oc) => oc.column('day').doUpdateSet({ total_bytes: row.total_bytes, hosts: row.hosts, updated_at: row.updated_at }))
      .execute();
  }

  fleetRange(sinceDay: string, untilDay: string): Promise<FleetTrendRow[]> {
    return this.db.selectFrom('fleet_trend').selectAll().where('day', '>=', sinceDay).where('day', '<=', untilDay).orderBy('day').execute();
  }

  async dropFleetBefore(day: string): Promise<void> {
    await this.db.deleteFrom('fleet_trend').where('day', '<', day).execute();
  }
}
