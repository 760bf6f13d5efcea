import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 9: a backup schedule's database dumps (docs/databases.md), sealed at rest with the
 * server's secret box (AAD `databases:<schedule id>`): the JSON list of DatabaseTarget, passwords
 * included. Null = no databases. Also `hosts.agent_features`: the JSON list of `hello.features` of
 * the host's agent at its last hello (null = never said; an agent that predates features says
 * nothing). (0007 and 0008 belong to other branches.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE schedules ADD COLUMN databases_enc TEXT`.execute(db);
  await sql`ALTER TABLE hosts ADD COLUMN agent_features TEXT`.execute(db);
}
