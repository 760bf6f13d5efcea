import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 6: the host's IANA time zone (null = unset). Schedules without their own zone fire
 * in it (the server fills it into schedule.set) and the cron preview shows it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE hosts ADD COLUMN time_zone TEXT`.execute(db);
}
