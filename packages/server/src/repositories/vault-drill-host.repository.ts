import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { VaultDrillHostsTable } from '../store/schema.js';

export type VaultDrillHostRow = Selectable<VaultDrillHostsTable>;

/** Hosts trusted for vault drills and the identity their agents reported (migration 0040). SQL only. */
export class VaultDrillHostRepository {
  constructor(private readonly db: Db) {}

  find(hostId: string): Promise<VaultDrillHostRow | undefined> {
    return this.db.selectFrom('vault_drill_hosts').selectAll().where('host_id', '=', hostId).executeTakeFirst();
  }
  /** Every host marked trusted. */
  trusted(): Promise<VaultDrillHostRow[]> {
    return this.db.selectFrom('vault_drill_hosts').selectAll().where('trusted', '=', 1).orderBy('host_id').execute();
  }
  async setTrust(hostId: string, trusted: boolean, by: string | null, at: string): Promise<void> {
    const patch = { trusted: trusted ? 1 : 0, trusted_by: trusted ? by : null, trusted_at: trusted ? at : null };
    await this.db.insertInto('vault_drill_hosts').values({ host_id: hostId, ...patch, identity_recipient: null, identity_error: null, identity_reported_at: null })
      .onConflict((oc) => oc.column('host_id').doUpdateSet(patch)).execute();
  }
  /** What the agent said at hello (null = no identity configured): replaces the previous report. */
  async reported(hostId: string, identity: { recipient: string | null; error: string | null } | null, at: string): Promise<void> {
    const patch = { identity_recipient: identity?.recipient ?? null, identity_error: identity?.error ?? null, identity_reported_at: at };
    await this.db.insertInto('vault_drill_hosts').values({ host_id: hostId, trusted: 0, trusted_by: null, trusted_at: null, ...patch })
      .onConflict((oc) => oc.column('host_id').doUpdateSet(patch)).execute();
  }
}
