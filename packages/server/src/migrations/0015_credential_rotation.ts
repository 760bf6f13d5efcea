import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 15: a cross-host restore that an admin confirmed as a one-off sends the source
 * host's permanent credential (its restic password and/or REST login) to another agent
 * (docs/decisions/0008-cross-host-restore.md). The source host then carries a "needs rotation"
 * mark (`credential_rotation_since`, `credential_rotation_reason`) until its credentials are
 * replaced; `restore_credentials.shared` lists what was shared for that job (comma-separated
 * `repository_password`, `rest_login`; null = nothing permanent).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE hosts ADD COLUMN credential_rotation_since TEXT`.execute(db);
  await sql`ALTER TABLE hosts ADD COLUMN credential_rotation_reason TEXT`.execute(db);
  await sql`ALTER TABLE restore_credentials ADD COLUMN shared TEXT`.execute(db);
}
