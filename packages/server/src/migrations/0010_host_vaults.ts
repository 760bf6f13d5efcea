import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 10: a host's vault target (docs/vault.md "Fleet"): storage (S3 or a directory on the
 * host), the age RECIPIENT (public key; the server never holds a private key), optional chunk and
 * blob sizes. `keys_enc` holds the S3 access key id and secret access key sealed with the secret
 * box (AAD `vault:<host id>`). `snapshots` is the agent's last vault.snapshots.report (JSON, no
 * secrets). One row per host; deleting the host deletes it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
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
