import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { dialectOf } from '../store/dialect.js';

/**
 * Migration 31 (issue 16, docs/recoverability.md "Restore drills"):
 * - `restore_drills`: one row per drill job — the drilled host, the host it ran on, the outcome
 *   and its measurements (files, bytes, throughput, the RTO estimate). Kept apart from `jobs`
 *   because a cross-host drill's job belongs to the drill host, the proof to the drilled one.
 * - schedules may be `restore_drill` (fired by the server) with an optional `drill_host_id`;
 *   the table is rebuilt with every column so far to widen its CHECK.
 * - `alert_settings.restore_unproven_days` (default 7).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = dialectOf(db) === 'postgres';
  const real = sql.raw(pg ? 'DOUBLE PRECISION' : 'REAL');
  const bytes = sql.raw(pg ? 'BIGINT' : 'INTEGER');
  await sql`CREATE TABLE schedules_v21 (
    id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('backup','forget','prune','check','vault_backup','vault_prune','restore_drill')), cron_expr TEXT NOT NULL,
    time_zone TEXT, enabled INTEGER NOT NULL DEFAULT 1, paths TEXT NOT NULL, excludes TEXT NOT NULL,
    tags TEXT NOT NULL, retention_policy TEXT, options TEXT NOT NULL, pre_hook_enc TEXT, post_hook_enc TEXT,
    run_as TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, databases_enc TEXT, repository_id TEXT,
    read_data_subset TEXT, read_data_rotation INTEGER, drill_host_id TEXT)`.execute(db);
  await sql`INSERT INTO schedules_v21 (id, host_id, kind, cron_expr, time_zone, enabled, paths, excludes, tags, retention_policy, options, pre_hook_enc, post_hook_enc, run_as, created_at, updated_at, databases_enc, repository_id, read_data_subset, read_data_rotation)
    SELECT id, host_id, kind, cron_expr, time_zone, enabled, paths, excludes, tags, retention_policy, options, pre_hook_enc, post_hook_enc, run_as, created_at, updated_at, databases_enc, repository_id, read_data_subset, read_data_rotation FROM schedules`.execute(db);
  await sql`DROP TABLE schedules`.execute(db);
  await sql`ALTER TABLE schedules_v21 RENAME TO schedules`.execute(db);
  await sql`CREATE INDEX schedules_host ON schedules(host_id)`.execute(db);
  await sql`CREATE INDEX schedules_repository ON schedules(repository_id)`.execute(db);

  await sql`CREATE TABLE restore_drills (
    job_id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    drill_host_id TEXT NOT NULL,
    repository_id TEXT,
    engine TEXT NOT NULL,
    status TEXT NOT NULL,
    snapshot_id TEXT,
    files INTEGER,
    bytes ${bytes},
    duration_seconds ${real},
    throughput_bps ${real},
    rto_seconds ${real},
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
  )`.execute(db);
  await sql`CREATE INDEX restore_drills_host ON restore_drills(host_id, created_at)`.execute(db);
  await sql`ALTER TABLE alert_settings ADD COLUMN restore_unproven_days INTEGER NOT NULL DEFAULT 7`.execute(db);
}
