import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 34 (issue 18): backup schedules may stop containers around the backup.
 * `stop_containers`: a JSON array of container names, stopped in order and started again in
 * reverse order (docs/databases.md "Stopping containers around a backup"); null = none.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE schedules ADD COLUMN stop_containers TEXT`.execute(db);
}
