import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 7 (spec §9 alerting): notification channels (webhook, ntfy, e-mail) with their
 * non-secret settings as JSON, their secrets sealed (`channel:<id>`), filters and the last
 * delivery status; the alert thresholds (one row); and an index for the open-alert lookups
 * every trigger makes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `CREATE TABLE notification_channels (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL CHECK (type IN ('webhook','ntfy','email')),
      enabled INTEGER NOT NULL DEFAULT 1, config TEXT NOT NULL, secrets_enc TEXT,
      kinds TEXT NOT NULL DEFAULT '[]', min_severity TEXT NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info','warning','critical')),
      last_status TEXT CHECK (last_status IN ('ok','retrying','failed')), last_attempt_at TEXT, last_error TEXT,
      last_attempts INTEGER NOT NULL DEFAULT 0, last_success_at TEXT,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
    `CREATE TABLE alert_settings (
      id INTEGER PRIMARY KEY CHECK (id = 1), agent_offline_minutes INTEGER NOT NULL, backup_overdue_hours INTEGER NOT NULL,
      repo_growth_percent INTEGER NOT NULL, updated_at TEXT NOT NULL)`,
    `CREATE INDEX alerts_open_kind ON alerts(host_id, kind) WHERE resolved_at IS NULL`,
  ];
  for (const s of statements) await sql.raw(s).execute(db);
}
