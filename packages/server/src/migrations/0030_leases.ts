import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 30 (issue 17): named leases. The periodic work that must run once per fleet
 * (server-fired schedules, copy schedules, alert evaluation, trend compaction) runs only in the
 * server process holding its lease; a process that stops holding it (killed, cut off) loses it
 * when `expires_at` passes and another takes over.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
  )`.execute(db);
}
