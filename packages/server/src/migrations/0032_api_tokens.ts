import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 32 (issue 21): API tokens. `token_hash` is the keyed hash of the secret (decision
 * server-0010), looked up on every bearer request; `scope_tags` is a JSON array or null (every
 * host). Tokens go with their account. Service accounts are users with auth_method 'service'
 * (no password; they act only through tokens), so no column is added to `users`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    role TEXT NOT NULL,
    scope_tags TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_used_at TEXT,
    last_used_ip TEXT,
    revoked_at TEXT
  )`.execute(db);
  await sql`CREATE INDEX api_tokens_user ON api_tokens(user_id)`.execute(db);
}
