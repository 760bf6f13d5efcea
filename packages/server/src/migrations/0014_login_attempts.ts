import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 14: sign-in throttle state in the store (decision server-0003), so every replica
 * sees the same counters and a restart forgives nothing. One row per (scope, username, ip):
 * `pair` counts attempts of one account from one address, `account` attempts on one account
 * from anywhere (ip ''), `known` records an address that signed in successfully. Usernames are
 * stored lower-cased by the repository. Times are ISO-8601 TEXT like every other table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE login_attempts (
    scope TEXT NOT NULL,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (scope, username, ip)
  )`.execute(db);
  await sql`CREATE INDEX login_attempts_updated ON login_attempts(updated_at)`.execute(db);
}
