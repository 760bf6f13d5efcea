import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 5 (issue 6, spec §7.4 / §14.3): host-level default hooks (sealed), the repository's
 * maintenance credential (sealed JSON: url, rest_username, rest_password) used for forget/prune,
 * and the last lock listing an agent reported (JSON, no secrets).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE hosts ADD COLUMN pre_hook_default_enc TEXT`.execute(db);
  await sql`ALTER TABLE hosts ADD COLUMN post_hook_default_enc TEXT`.execute(db);
  await sql`ALTER TABLE repos ADD COLUMN maintenance_enc TEXT`.execute(db);
  await sql`ALTER TABLE repos ADD COLUMN maintenance_set_at TEXT`.execute(db);
  await sql`ALTER TABLE repos ADD COLUMN locks TEXT`.execute(db);
}
