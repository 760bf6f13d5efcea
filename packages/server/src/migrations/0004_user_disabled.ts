import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/** Migration 4: admins can disable an account (Settings → Users); disabled users cannot sign in. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN disabled_at TEXT`.execute(db);
}
