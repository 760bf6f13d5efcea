import type { Db } from '../store/db.js';

/** Bus messages too large for one NOTIFY (migration 0041), SQL only. */
export class ClusterMessageRepository {
  constructor(private readonly db: Db) {}

  async put(id: string, sealed: string, createdAt: string): Promise<void> {
    await this.db.insertInto('cluster_messages').values({ id, sealed, created_at: createdAt }).execute();
  }

  async get(id: string): Promise<string | null> {
    return (await this.db.selectFrom('cluster_messages').select('sealed').where('id', '=', id).executeTakeFirst())?.sealed ?? null;
  }

  /** Deletes the messages written before `before`; returns how many. */
  async deleteBefore(before: string): Promise<number> {
    const r = await this.db.deleteFrom('cluster_messages').where('created_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
