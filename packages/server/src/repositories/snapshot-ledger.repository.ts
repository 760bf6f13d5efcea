import type { Insertable, Selectable, Updateable } from 'kysely';
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { RepositoryIntegrityTable, SnapshotLedgerTable } from '../store/schema.js';
import { readOneSnapshot } from '../store/dialect.js';

export type LedgerRow = Selectable<SnapshotLedgerTable>;
export type IntegrityRow = Selectable<RepositoryIntegrityTable>;

/** What a listing says about one snapshot (the ledger keeps the first values it saw). */
export type SeenSnapshot = Pick<LedgerRow, 'snapshot_id' | 'short_id' | 'time' | 'hostname' | 'paths' | 'tree' | 'size_bytes'>;

const CHUNK = 200;

/** The snapshot ledger and the per-repository integrity row (migration 0019). SQL only. */
export class SnapshotLedgerRepository {
  constructor(private readonly db: Db) {}

  integrity(repoId: string): Promise<IntegrityRow | undefined> {
    return this.db.selectFrom('repository_integrity').selectAll().where('repo_id', '=', repoId).executeTakeFirst();
  }

  integrities(repoIds: readonly string[]): Promise<IntegrityRow[]> {
    if (repoIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('repository_integrity').selectAll().where('repo_id', 'in', repoIds).execute();
  }

  /** Integrity rows of frozen repositories. */
  frozen(): Promise<IntegrityRow[]> {
    return this.db.selectFrom('repository_integrity').selectAll().where('frozen_since', 'is not', null).execute();
  }

  /** Creates the repository's integrity row when missing, then applies `patch`. */
  async setIntegrity(repoId: string, patch: Updateable<RepositoryIntegrityTable>): Promise<void> {
    const row: Insertable<RepositoryIntegrityTable> = { repo_id: repoId };
    await this.db.insertInto('repository_integrity').values(row).onConflict((oc) => oc.column('repo_id').doNothing()).execute();
    if (Object.keys(patch).length) await this.db.updateTable('repository_integrity').set(patch).where('repo_id', '=', repoId).execute();
  }

  /** Ids of the repository's snapshots the ledger holds as present, with when each was last seen. */
  present(repoId: string): Promise<Pick<LedgerRow, 'snapshot_id' | 'short_id' | 'time' | 'paths' | 'last_seen_at'>[]> {
    return this.db.selectFrom('snapshot_ledger').select(['snapshot_id', 'short_id', 'time', 'paths', 'last_seen_at'])
      .where('repo_id', '=', repoId).where('gone_at', 'is', null).execute();
  }

  /**
   * Records that a listing at `at` had these snapshots: new ones are added (first and last seen
   * at `at`); one the ledger already holds gets last_seen_at = `at`, and when it was gone it is
   * present again (its gone_at, removal job and acknowledgement are cleared).
   */
  async seen(repoId: string, snaps: readonly SeenSnapshot[], at: string): Promise<void> {
    for (let i = 0; i < snaps.length; i += CHUNK) {
      const rows = snaps.slice(i, i + CHUNK).map((s) => ({ ...s, repo_id: repoId, first_seen_at: at, last_seen_at: at }));
      await this.db.insertInto('snapshot_ledger').values(rows).onConflict((oc) => oc.columns(['repo_id', 'snapshot_id']).doUpdateSet((eb) => ({
        last_seen_at: eb.ref('excluded.last_seen_at'),
        tree: eb.fn.coalesce('snapshot_ledger.tree', eb.ref('excluded.tree')),
        size_bytes: eb.fn.coalesce('snapshot_ledger.size_bytes', eb.ref('excluded.size_bytes')),
        gone_at: null, removed_by_job_id: null, acknowledged_at: null,
      }))).execute();
    }
  }

  /** Every present snapshot of the repository was seen at `at` (after the gone ones were marked). */
  async touchPresent(repoId: string, at: string): Promise<void> {
    await this.db.updateTable('snapshot_ledger').set({ last_seen_at: at }).where('repo_id', '=', repoId).where('gone_at', 'is', null).execute();
  }

  /** Marks snapshots gone at `at`, removed by `jobId` (null = vanished without an authorised job). */
  async markGone(repoId: string, ids: readonly string[], at: string, jobId: string | null): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      await this.db.updateTable('snapshot_ledger').set({ gone_at: at, removed_by_job_id: jobId })
        .where('repo_id', '=', repoId).where('snapshot_id', 'in', ids.slice(i, i + CHUNK)).where('gone_at', 'is', null).execute();
    }
  }

  /** Vanished (gone, no removal job) and not yet acknowledged snapshots of the repository. */
  async countUnacknowledgedVanished(repoId: string): Promise<number> {
    const r = await this.db.selectFrom('snapshot_ledger').select((eb) => eb.fn.countAll<number>().as('n')).where('repo_id', '=', repoId)
      .where('gone_at', 'is not', null).where('removed_by_job_id', 'is', null).where('acknowledged_at', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Acknowledges every vanished snapshot of the repository; returns how many. */
  async acknowledgeVanished(repoId: string, at: string): Promise<number> {
    const r = await this.db.updateTable('snapshot_ledger').set({ acknowledged_at: at }).where('repo_id', '=', repoId)
      .where('gone_at', 'is not', null).where('removed_by_job_id', 'is', null).where('acknowledged_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** A page of the ledger: gone snapshots first (newest gone first), then by snapshot time, newest first. */
  list(repoId: string, gone: boolean | undefined, limit: number, offset: number): Promise<{ rows: LedgerRow[]; total: number }> {
    return readOneSnapshot(this.db, async (db) => {
      let q = db.selectFrom('snapshot_ledger').where('repo_id', '=', repoId);
      if (gone === true) q = q.where('gone_at', 'is not', null);
      if (gone === false) q = q.where('gone_at', 'is', null);
      const rows = await q.selectAll().orderBy(sql`CASE WHEN gone_at IS NULL THEN 1 ELSE 0 END`).orderBy('gone_at', 'desc')
        .orderBy('time', 'desc').orderBy('snapshot_id').limit(limit).offset(offset).execute();
      const t = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(t.n) };
    });
  }
}
