import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { dialectOf } from '../store/dialect.js';

/**
 * Migration 12: repository trends (docs/server.md "Trends"). `trend_points` holds one row per
 * (host, metric, time): raw points as they arrive (`daily = 0`), and per-UTC-day aggregates
 * (`daily = 1`, time = the day at 00:00Z) once a raw point is older than the raw window.
 * `n` is how many raw points an aggregate stands for (a weighted mean stays correct when a
 * late point is merged in). `fleet_trend` keeps, per UTC day, the fleet's total repository
 * bytes as last seen that day (written on every repo.stats, read by the dashboard sparkline).
 * Host rows cascade: deleting a host deletes its trend. (0010 and 0011 belong to other branches.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // PostgreSQL (server decision 7): no WITHOUT ROWID, 64-bit byte totals, DOUBLE PRECISION values.
  const pg = dialectOf(db) === 'postgres';
  const real = sql.raw(pg ? 'DOUBLE PRECISION' : 'REAL');
  const bytes = sql.raw(pg ? 'BIGINT' : 'INTEGER');
  const withoutRowid = sql.raw(pg ? '' : ' WITHOUT ROWID');
  await sql`CREATE TABLE trend_points (
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    ts TEXT NOT NULL,
    value ${real} NOT NULL,
    n INTEGER NOT NULL DEFAULT 1,
    daily INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host_id, metric, daily, ts)
  )${withoutRowid}`.execute(db);
  await sql`CREATE INDEX trend_points_raw_ts ON trend_points(daily, ts)`.execute(db);
  await sql`CREATE TABLE fleet_trend (
    day TEXT PRIMARY KEY,
    total_bytes ${bytes} NOT NULL,
    hosts INTEGER NOT NULL,
    updated_at TEXT NOT NULL
  )`.execute(db);
}
