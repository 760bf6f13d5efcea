import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 35 (issue 20): the control plane's own backup on a schedule (Settings →
 * Control-plane backup, docs/operations.md). One row (id 1): the setting (a Repository object by
 * id: its password and keys stay sealed there; age recipients are public keys), the claim of a
 * running backup (`running_since`, so two server processes never run it at once), the last run
 * and the last success.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE control_plane_backup (
    id INTEGER PRIMARY KEY,
    enabled INTEGER NOT NULL DEFAULT 0,
    cron_expr TEXT NOT NULL DEFAULT '0 3 * * *',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    repository_id TEXT REFERENCES repos(id) ON DELETE SET NULL,
    recipients TEXT NOT NULL DEFAULT '[]',
    include_key INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT,
    running_since TEXT,
    last_started_at TEXT,
    last_finished_at TEXT,
    last_status TEXT,
    last_trigger TEXT,
    last_snapshot_id TEXT,
    last_error TEXT,
    last_duration_ms INTEGER,
    last_success_at TEXT
  )`.execute(db);
}
