import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 29 (issue 17): OIDC sign-in attempts in the database instead of one process's
 * memory, so a sign-in started through one server process completes on another (or after a
 * restart). `id` is the SHA-256 of the attempt cookie (the cookie itself is never stored);
 * `sealed` holds state, nonce, PKCE verifier and the landing page, sealed with the server key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE oidc_pending (
    id TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at TEXT NOT NULL
  )`.execute(db);
  await sql`CREATE INDEX oidc_pending_created ON oidc_pending(created_at)`.execute(db);
}
