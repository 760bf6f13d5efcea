import type { Db } from '../store/db.js';

/** Named leases (migration 0030), SQL only. */
export class LeaseRepository {
  constructor(private readonly db: Db) {}

  /**
   * Takes or renews lease `name` for `holder` until `until`: true when the row now names
   * `holder` (it held it already, the lease had expired, or there was none). One statement
   * each, so two processes racing for a free lease cannot both win.
   */
  async acquire(name: string, holder: string, now: string, until: string): Promise<boolean> {
    const r = await this.db.updateTable('leases').set({ holder, expires_at: until }).where('name', '=', name)
      .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at', '<', now)])).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return true;
    const ins = await this.db.insertInto('leases').values({ name, holder, expires_at: until }).onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
    return Number(ins.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Gives the lease up (a graceful stop), so another process need not wait for it to expire. */
  async release(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  holderOf(name: string): Promise<{ holder: string; expires_at: string } | undefined> {
    return this.db.selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
  }
}
