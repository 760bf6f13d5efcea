import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { HostVaultsTable } from '../store/schema.js';

export type HostVaultRow = Selectable<HostVaultsTable>;

/** Hosts' vault targets (migration 0010). SQL only. */
export class VaultRepository {
  constructor(private readonly db: Db) {}

  /** Ids of the hosts that have a vault target. */
  async hostIds(): Promise<string[]> {
    return (await this.db.selectFrom('host_vaults').select('host_id').execute()).map((r) => r.host_id);
  }
  findByHost(hostId: string): Promise<HostVaultRow | undefined> {
    return this.db.selectFrom('host_vaults').selectAll().where('host_id', '=', hostId).executeTakeFirst();
  }

  /** Inserts or replaces the host's target; the last snapshot report is kept. */
  async upsert(row: Omit<HostVaultRow, 'snapshots' | 'snapshots_at'>): Promise<void> {
    const { host_id: _id, created_at: _c, ...rest } = row;
    await this.db.insertInto('host_vaults').values({ ...row, snapshots: null, snapshots_at: null })
      .onConflict((oc) => oc.column('host_id').doUpdateSet(rest)).execute();
  }

  async delete(hostId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('host_vaults').where('host_id', '=', hostId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async clearSnapshots(hostId: string): Promise<void> {
    await this.db.updateTable('host_vaults').set({ snapshots: null, snapshots_at: null }).where('host_id', '=', hostId).execute();
  }

  async setSnapshots(hostId: string, json: string, at: string): Promise<void> {
    await this.db.updateTable('host_vaults').set({ snapshots: json, snapshots_at: at }).where('host_id', '=', hostId).execute();
  }
}
