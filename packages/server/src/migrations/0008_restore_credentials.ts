import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 8: the temporary read credential of each cross-host restore job (spec §14.1,
 * docs/decisions/0008-cross-host-restore.md). `mode` is `temporary_key` (a one-job restic key
 * added to the source repository; `key_id` and the sealed password are kept until it is removed)
 * or `stored_credential` (the source host was offline: its stored password went to the target
 * for this one job). `revoked_at` is set once the key is removed (or the job ended, for
 * stored_credential); `reason` says why this mode (shown in the job log); `revoke_error` keeps the last failed removal for the retry on reconnect.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE restore_credentials (
    job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    source_host_id TEXT NOT NULL, target_host_id TEXT NOT NULL, mode TEXT NOT NULL,
    key_id TEXT, secret_enc TEXT, reason TEXT NOT NULL DEFAULT '', issued_at TEXT NOT NULL, revoked_at TEXT, revoke_error TEXT)`.execute(db);
  await sql`CREATE INDEX restore_credentials_pending ON restore_credentials (source_host_id) WHERE revoked_at IS NULL`.execute(db);
}
