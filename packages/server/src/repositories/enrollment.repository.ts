import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { EnrollmentTokensTable } from '../store/schema.js';

export type EnrollmentTokenRow = Selectable<EnrollmentTokensTable>;

export class EnrollmentRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<EnrollmentTokensTable>): Promise<void> {
    await this.db.insertInto('enrollment_tokens').values(row).execute();
  }
  findByHash(hash: string): Promise<EnrollmentTokenRow | undefined> {
    return this.db.selectFrom('enrollment_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  }
  /** Claims the token; false when another request used it first. */
  async markUsed(id: string, at: string): Promise<boolean> {
    const r = await this.db.updateTable('enrollment_tokens').set({ used_at: at }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Invalidates the host's unused tokens (a regenerate replaces them). */
  async deleteUnusedForHost(hostId: string): Promise<void> {
    await this.db.deleteFrom('enrollment_tokens').where('host_id', '=', hostId).where('used_at', 'is', null).execute();
  }
}
