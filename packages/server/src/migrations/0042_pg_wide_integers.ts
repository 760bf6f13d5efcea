import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { dialectOf } from '../store/dialect.js';

/**
 * Migration 42 (issue 17): integer columns added after migration 1 were plain INTEGER, which is
 * 64-bit on SQLite but 32-bit on PostgreSQL, so a vault blob size limit of 10 GB (the vault's own
 * default) was refused there with an error 500. These become BIGINT on PostgreSQL: the vault
 * target's chunk size and blob size limit, a quarantined report's outbox position (the agent's
 * number), the control-plane backup's duration in ms. SQLite: nothing to do.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`ALTER TABLE host_vaults ALTER COLUMN chunk_size TYPE BIGINT, ALTER COLUMN blob_size_limit TYPE BIGINT`.execute(db);
  await sql`ALTER TABLE quarantined_reports ALTER COLUMN outbox_seq TYPE BIGINT`.execute(db);
  await sql`ALTER TABLE control_plane_backup ALTER COLUMN last_duration_ms TYPE BIGINT`.execute(db);
}
