import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 10: a host's vault target (docs/vault.md "Fleet"): storage (S3 or a directory on the
 * host), the age RECIPIENT (public key; the server never holds a private key), optional chunk and
 * blob sizes. `keys_enc` holds the S3 access key id and secret access key sealed with the secret
 * box (AAD `vault:<host id>`). `snapshots` is the agent's last vault.snapshots.report (JSON, no
 * secrets). One row per host; deleting the host deletes it. Also: schedule kinds vault_backup and
 * vault_prune (the schedules table is rebuilt to widen its CHECK).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Schedules may be vault_backup / vault_prune (fired by the server): SQLite cannot alter a
  // CHECK constraint, so the table is rebuilt with the same columns (nothing references it).
  await sql`CREATE TABLE schedules_v10 (
    id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('backup','forget','prune','check','vault_backup','vault_prune')), cron_expr TEXT NOT NULL,
    time_zone TEXT, enabled INTEGER NOT NULL DEFAULT 1, paths TEXT NOT NULL, excludes TEXT NOT NULL,
    tags TEXT NOT NULL, retention_policy TEXT, options TEXT NOT NULL, pre_hook_enc TEXT, post_hook_enc TEXT,
    run_as TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, databases_enc TEXT)`.execute(db);
  await sql`INSERT INTO schedules_v10 (id, host_id, kind, cron_expr, time_zone, enabled, paths, excludes, tags, retention_policy, options, pre_hook_enc, post_hook_enc, run_as, created_at, updated_at, databases_enc)
    SELECT id, host_id, kind, cron_expr, time_zone, enabled, paths, excludes, tags, retention_policy, options, pre_hook_enc, post_hook_enc, run_as, created_at, updated_at, databases_enc FROM schedules`.execute(db);
  await sql`DROP TABLE schedules`.execute(db);
  await sql`ALTER TABLE schedules_v10 RENAME TO schedules`.execute(db);
  await sql`CREATE INDEX schedules_host ON schedules(host_id)`.execute(db);

  await sql`CREATE TABLE host_vaults (
    host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    storage_type TEXT NOT NULL CHECK (storage_type IN ('s3','local')),
    local_path TEXT,
    s3_endpoint TEXT, s3_bucket TEXT, s3_prefix TEXT, s3_region TEXT,
    keys_enc TEXT,
    age_recipient TEXT NOT NULL,
    chunk_size INTEGER, blob_size_limit INTEGER,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    snapshots TEXT, snapshots_at TEXT
  )`.execute(db);
}
