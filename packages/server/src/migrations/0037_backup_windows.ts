import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 37 (issue 21): backup windows. `schedules.windows`: the schedule's own window set
 * (JSON WindowSet: windows and blackout dates; null = any time). `tag_windows`: a window set per
 * host tag, applied to every schedule of every host carrying the tag (docs/schedules.md).
 * `window_waits`: a server-fired job (forget, prune, vault) created outside its windows: when it
 * may be sent (`start_at`) and when a `stop` window ends it (`stop_at`, sent in command.run).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE schedules ADD COLUMN windows TEXT`.execute(db);
  await sql`CREATE TABLE tag_windows (
    tag TEXT PRIMARY KEY,
    windows TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`.execute(db);
  await sql`CREATE TABLE window_waits (
    job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    start_at TEXT NOT NULL,
    stop_at TEXT
  )`.execute(db);
}
