import { dialectOf, readOneSnapshot } from '../store/dialect.js';
import type { Insertable, Selectable, Updateable } from 'kysely';
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { HostsTable } from '../store/schema.js';
import { jsonArrayHas } from './json-array.js';

export type HostRow = Selectable<HostsTable>;
export interface HostFilter {
  tag?: string | undefined;
  status?: HostsTable['status'] | undefined;
  /** Only hosts carrying at least one of these tags (an API token's scope); [] matches none. */
  anyTag?: string[] | undefined;
}

export class HostRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<HostsTable>): Promise<void> {
    await this.db.insertInto('hosts').values(row).execute();
  }
  findById(id: string): Promise<HostRow | undefined> {
    return this.db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirst();
  }
  findByTokenHash(hash: string): Promise<HostRow | undefined> {
    return this.db.selectFrom('hosts').selectAll().where('agent_token_hash', '=', hash).executeTakeFirst();
  }
  /** Sets the patch's columns; an empty patch changes nothing (an UPDATE without columns is invalid SQL). */
  async update(id: string, patch: Updateable<HostsTable>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    await this.db.updateTable('hosts').set(patch).where('id', '=', id).execute();
  }
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('hosts').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  list(f: HostFilter, limit: number, offset: number): Promise<{ rows: HostRow[]; total: number }> {
    return readOneSnapshot(this.db, async (db) => {
      let q = db.selectFrom('hosts');
      if (f.status) q = q.where('status', '=', f.status);
      if (f.tag) q = q.where(jsonArrayHas(db, 'hosts.tags', f.tag));
      const any = f.anyTag;
      if (any) q = any.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where((eb) => eb.or(any.map((t) => jsonArrayHas(db, 'hosts.tags', t))));
      const rows = await q.selectAll().orderBy('name').orderBy('id').limit(limit).offset(offset).execute();
      const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(total.n) };
    });
  }

  /** Hosts whose primary repository is `repoId`. */
  async countByRepo(repoId: string): Promise<number> {
    const r = await this.db.selectFrom('hosts').select((eb) => eb.fn.countAll<number>().as('n')).where('repo_id', '=', repoId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('hosts').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Fleet totals: repository bytes, open alerts, and how many hosts have reported a size. */
  async totals(): Promise<{ bytes: number; alerts: number; sizedHosts: number }> {
    const r = await this.db
      .selectFrom('hosts')
      .select([
        (eb) => eb.fn.coalesce(eb.fn.sum<number>('repo_size_bytes'), sql<number>`0`).as('bytes'),
        (eb) => eb.fn.coalesce(eb.fn.sum<number>('open_alert_count'), sql<number>`0`).as('alerts'),
        (eb) => eb.fn.count<number>('repo_size_bytes').as('sized'),
      ])
      .executeTakeFirstOrThrow();
    return { bytes: Number(r.bytes), alerts: Number(r.alerts), sizedHosts: Number(r.sized) };
  }

  /**
   * Batched heartbeat write: sets last_seen_at for many hosts at once. On PostgreSQL a row another
   * transaction holds (a run-now marking the host busy, another replica's batch) is skipped for
   * this beat rather than waited for: a batch waiting on rows in its own order could deadlock
   * with one locking them in another (seen under a run-now burst on three replicas), and the
   * next beat writes it anyway.
   */
  async touchMany(ids: string[], at: string): Promise<void> {
    const pg = dialectOf(this.db) === 'postgres';
    const sorted = [...ids].sort();
    for (let i = 0; i < sorted.length; i += 500) {
      const chunk = sorted.slice(i, i + 500);
      await this.db
        .updateTable('hosts')
        .set({ last_seen_at: at })
        .where('id', 'in', pg ? (eb) => eb.selectFrom('hosts').select('id').where('id', 'in', chunk).orderBy('id').forUpdate().skipLocked() : chunk)
        .execute();
    }
  }

  /** Marks every online host offline (server start: no agent is connected yet). */
  async markAllOffline(): Promise<void> {
    await this.db.updateTable('hosts').set({ status: 'offline' }).where('status', 'in', ['online', 'degraded']).execute();
  }

  /** Marks offline the online hosts not in `keep` (several replicas: the agents no replica holds). */
  async markOfflineExcept(keep: ReadonlySet<string>): Promise<number> {
    const online = await this.db.selectFrom('hosts').select('id').where('status', 'in', ['online', 'degraded']).execute();
    return this.markOffline(online.map((h) => h.id).filter((id) => !keep.has(id)));
  }

  /** Marks the given hosts offline (in batches); returns how many were online. */
  async markOffline(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const r = await this.db.updateTable('hosts').set({ status: 'offline' }).where('status', 'in', ['online', 'degraded']).where('id', 'in', ids.slice(i, i + 500)).executeTakeFirst();
      n += Number(r.numUpdatedRows);
    }
    return n;
  }

  allForMetrics(): Promise<HostRow[]> {
    return this.db.selectFrom('hosts').selectAll().execute();
  }
}
