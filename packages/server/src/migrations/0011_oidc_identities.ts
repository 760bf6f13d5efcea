import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 11: OIDC sign-in. `users.auth_method` says how an account signs in ('password' or
 * 'oidc'); an OIDC account is linked by (issuer, subject), never by username or e-mail.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password'`.execute(db);
  await sql`CREATE TABLE user_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
  )`.execute(db);
  await sql`CREATE INDEX user_identities_user ON user_identities(user_id)`.execute(db);
}
