import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 38 (issue 21): concurrency caps and the slots they hand out (decision 0013).
 * `concurrency_caps`: one row per cap (scope fleet | tag | backend, and its key).
 * `job_slots`: one row per capped job, waiting or holding; `ticket` orders the queue, `cap_keys`
 * (JSON array) lists every cap key the job falls under whether or not a cap exists for it yet,
 * `lease_expires_at` lets a crashed holder's slot be reclaimed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE concurrency_caps (
    scope TEXT NOT NULL,
    cap_key TEXT NOT NULL,
    max_jobs INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (scope, cap_key)
  )`.execute(db);
  await sql`CREATE TABLE job_slots (
    job_id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL,
    ticket INTEGER NOT NULL,
    cap_keys TEXT NOT NULL,
    state TEXT NOT NULL,
    origin TEXT NOT NULL,
    enqueued_at TEXT NOT NULL,
    granted_at TEXT,
    lease_expires_at TEXT
  )`.execute(db);
  await sql`CREATE INDEX job_slots_ticket ON job_slots (ticket)`.execute(db);
}
