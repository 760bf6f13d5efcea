import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 18 (issue 22): agent reports the server could not store after several attempts
 * while the store itself was writable (a poison report). Each is set aside here, acknowledged so
 * the agent's outbox moves on, and raises `report_quarantined`. `frame` is the report's JSON
 * (capped at 64 KiB by the service); agents redact secrets before a report leaves them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE quarantined_reports (
    id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    outbox_seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    frame TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TEXT NOT NULL
  )`.execute(db);
  await sql`CREATE INDEX quarantined_reports_host ON quarantined_reports(host_id, created_at)`.execute(db);
}
