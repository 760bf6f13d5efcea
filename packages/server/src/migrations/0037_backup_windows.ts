import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 37 (issue 21): backup windows. `schedules.windows`: the schedule's own window set
 * (JSON WindowSet: windows and blackout dates; null = any time). `tag_windows`: a window set per
 * host tag, applied to every schedule of every host carrying the tag (docs/schedules.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE schedules ADD COLUMN windows TEXT`.execute(db);
  await sql`CREATE TABLE tag_windows (
    tag TEXT PRIMARY KEY,
    windows TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`.execute(db);
}
