import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 39 (issue 21): a user's host-tag scope. `scope_tags` is a JSON array of host tags
 * (the user sees and acts only on hosts carrying one of them), NULL = every host. Admins are
 * never scoped (services/auth.service.ts refuses it), so existing rows keep NULL.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN scope_tags TEXT`.execute(db);
}
