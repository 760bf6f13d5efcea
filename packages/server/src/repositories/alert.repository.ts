import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { AlertsTable } from '../store/schema.js';
import { readOneSnapshot } from '../store/dialect.js';

export type AlertRow = Selectable<AlertsTable>;

export class AlertRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<AlertsTable>): Promise<void> {
    await this.db.insertInto('alerts').values(row).execute();
  }
  findById(id: string): Promise<AlertRow | undefined> {
    return this.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** `host_ids`: only alerts of these hosts (a scoped caller's; fleet-wide alerts are left out); undefined = all. */
  list(f: { host_id?: string | undefined; open?: boolean | undefined; kind?: string | undefined; host_ids?: string[] | undefined }, limit: number, offset: number): Promise<{ rows: AlertRow[]; total: number }> {
    return readOneSnapshot(this.db, async (db) => {
      let q = db.selectFrom('alerts');
      if (f.host_id) q = q.where('host_id', '=', f.host_id);
      if (f.host_ids) q = f.host_ids.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('host_id', 'in', f.host_ids);
      if (f.kind) q = q.where('kind', '=', f.kind);
      if (f.open === true) q = q.where('resolved_at', 'is', null);
      if (f.open === false) q = q.where('resolved_at', 'is not', null);
      const rows = await q.selectAll().orderBy('created_at', 'desc').limit(limit).offset(offset).execute();
      const t = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(t.n) };
    });
  }
  async acknowledge(id: string, at: string): Promise<void> {
    await this.db.updateTable('alerts').set({ acknowledged_at: at }).where('id', '=', id).where('acknowledged_at', 'is', null).execute();
  }
  async openForHost(hostId: string): Promise<number> {
    const r = await this.db.selectFrom('alerts').select((eb) => eb.fn.countAll<number>().as('n')).where('host_id', '=', hostId).where('resolved_at', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  }
  async resolveOpen(hostId: string, kind: string, at: string): Promise<void> {
    await this.db.updateTable('alerts').set({ resolved_at: at }).where('host_id', '=', hostId).where('kind', '=', kind).where('resolved_at', 'is', null).execute();
  }
  async openOfKind(hostId: string, kind: string): Promise<AlertRow | undefined> {
    return this.db.selectFrom('alerts').selectAll().where('host_id', '=', hostId).where('kind', '=', kind).where('resolved_at', 'is', null).executeTakeFirst();
  }
  /** Open alerts of one kind across hosts (the periodic triggers resolve the ones whose condition cleared). */
  openByKind(kind: string): Promise<AlertRow[]> {
    return this.db.selectFrom('alerts').selectAll().where('kind', '=', kind).where('resolved_at', 'is', null).execute();
  }
  /** The open fleet-wide alert (no host) of one kind. */
  openFleetOfKind(kind: string): Promise<AlertRow | undefined> {
    return this.db.selectFrom('alerts').selectAll().where('host_id', 'is', null).where('kind', '=', kind).where('resolved_at', 'is', null).executeTakeFirst();
  }
  async resolveOpenFleet(kind: string, at: string): Promise<void> {
    await this.db.updateTable('alerts').set({ resolved_at: at }).where('host_id', 'is', null).where('kind', '=', kind).where('resolved_at', 'is', null).execute();
  }
}
