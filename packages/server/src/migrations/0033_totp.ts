import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 33 (issue 21): TOTP second factor. `users.totp_enabled_at` is set once a user
 * confirmed enrolment (read with the user on every request, so enforcement costs no query);
 * `user_totp` holds the sealed secret (a pending one until confirmed) and the last accepted time
 * step (a code is refused unless its step is newer: no reuse within its window); recovery codes
 * are keyed hashes, single use; a sign-in waiting for its code is a `totp_challenges` row;
 * `auth_settings` holds which roles must use a second factor.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN totp_enabled_at TEXT`.execute(db);
  await sql`CREATE TABLE user_totp (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_enc TEXT NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0,
    last_step INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  )`.execute(db);
  await sql`CREATE TABLE user_recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (user_id, code_hash)
  )`.execute(db);
  await sql`CREATE TABLE totp_challenges (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
  )`.execute(db);
  await sql`CREATE TABLE auth_settings (
    id INTEGER PRIMARY KEY,
    totp_required_roles TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT
  )`.execute(db);
}
