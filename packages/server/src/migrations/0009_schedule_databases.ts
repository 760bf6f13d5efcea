import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 9: a backup schedule's database dumps (docs/databases.md), sealed at rest with the
 * server's secret box (AAD `databases:<schedule id>`): the JSON list of DatabaseTarget, passwords
 * included. Null = no databases. (0007 and 0008 belong to other branches.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE schedules ADD COLUMN databases_enc TEXT`.execute(db);
}
