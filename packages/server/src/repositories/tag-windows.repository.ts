import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { TagWindowsTable, WindowWaitsTable } from '../store/schema.js';

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

export type WindowWaitRow = Selectable<WindowWaitsTable>;

/** Server-fired jobs held for their backup windows (migration 0037). */
export class WindowWaitRepository {
  constructor(private readonly db: Db) {}

  async insert(row: WindowWaitRow): Promise<void> {
    await this.db.insertInto('window_waits').values(row).execute();
  }
  find(jobId: string): Promise<WindowWaitRow | undefined> {
    return this.db.selectFrom('window_waits').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  }
  async update(jobId: string, startAt: string, stopAt: string | null): Promise<void> {
    await this.db.updateTable('window_waits').set({ start_at: startAt, stop_at: stopAt }).where('job_id', '=', jobId).execute();
  }
  /** Held jobs whose start time has come (still queued and never sent). */
  due(nowIso: string): Promise<WindowWaitRow[]> {
    return this.db.selectFrom('window_waits').innerJoin('jobs', 'jobs.id', 'window_waits.job_id')
      .select(['window_waits.job_id', 'window_waits.start_at', 'window_waits.stop_at'])
      .where('window_waits.start_at', '<=', nowIso).where('jobs.status', '=', 'queued').where('jobs.dispatched_at', 'is', null).execute();
  }
}
