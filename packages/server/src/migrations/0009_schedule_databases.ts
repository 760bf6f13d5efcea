import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 9: a backup schedule's database dumps (docs/databases.md), sealed at rest with the
 * server's secret box (AAD `databases:<schedule id>`): the JSON list of DatabaseTarget, passwords
 * included. Null = no databases. Also `hosts.agent_features`: the JSON list of `hello.features` of
 * the host's agent at its last hello (null = never said; an agent that predates features says
 * nothing), and `hosts.discovered_databases`: the last `databases.report`. (0007 and 0008 belong
 * to other branches.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE schedules ADD COLUMN databases_enc TEXT`.execute(db);
  await sql`ALTER TABLE hosts ADD COLUMN agent_features TEXT`.execute(db);
  // The agent's last databases.report (JSON, no secrets), shown as hints in the editor.
  await sql`ALTER TABLE hosts ADD COLUMN discovered_databases TEXT`.execute(db);
}
