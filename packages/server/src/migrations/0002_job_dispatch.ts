import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 2: remember when command.run reached the agent (so a reconnecting agent that lost
 * a dispatched job can be told apart from a job still waiting for its host), and record job
 * event sequence numbers so replayed frames are applied once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs ADD COLUMN dispatched_at TEXT`.execute(db);
  await sql`UPDATE jobs SET dispatched_at = started_at WHERE started_at IS NOT NULL`.execute(db);
  await sql`CREATE TABLE job_events (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq INTEGER NOT NULL, type TEXT NOT NULL,
    PRIMARY KEY (job_id, seq))`.execute(db);
}
