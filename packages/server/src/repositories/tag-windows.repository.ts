import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { TagWindowsTable } from '../store/schema.js';

export type TagWindowsRow = Selectable<TagWindowsTable>;

/** Backup windows per host tag (migration 0037). */
export class TagWindowsRepository {
  constructor(private readonly db: Db) {}

  list(): Promise<TagWindowsRow[]> {
    return this.db.selectFrom('tag_windows').selectAll().orderBy('tag').execute();
  }
  /** The rows of these tags (none for an empty list). */
  forTags(tags: readonly string[]): Promise<TagWindowsRow[]> {
    if (tags.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('tag_windows').selectAll().where('tag', 'in', [...tags]).orderBy('tag').execute();
  }
  async upsert(row: TagWindowsRow): Promise<void> {
    await this.db.insertInto('tag_windows').values(row).onConflict((oc) => oc.column('tag').doUpdateSet({ windows: row.windows, updated_at: row.updated_at })).execute();
  }
  async delete(tag: string): Promise<boolean> {
    const r = await this.db.deleteFrom('tag_windows').where('tag', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
