import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 20 (issue 22): what a check schedule reads of the pack data. `read_data_subset`: a
 * fixed restic `--read-data-subset`; `read_data_rotation`: part n of t each run (0 = structure
 * only). Both null (every existing schedule) = rotate over 10 runs, the new default: a check that
 * reads no data passed a repository with a corrupted pack.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE schedules ADD COLUMN read_data_subset TEXT`.execute(db);
  await sql`ALTER TABLE schedules ADD COLUMN read_data_rotation INTEGER`.execute(db);
}
