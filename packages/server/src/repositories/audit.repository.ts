import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { AuditLogTable } from '../store/schema.js';
import { readOneSnapshot } from '../store/dialect.js';

export type AuditRow = Selectable<AuditLogTable>;
export interface AuditFilter {
  actor?: 'user' | 'agent' | 'system' | undefined;
  user_id?: string | undefined;
  action?: string | undefined;
  target_kind?: string | undefined;
  target_id?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

export class AuditRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<AuditLogTable>): Promise<void> {
    await this.db.insertInto('audit_log').values(row).execute();
  }

  list(f: AuditFilter, limit: number, offset: number): Promise<{ rows: AuditRow[]; total: number }> {
    return readOneSnapshot(this.db, async (db) => {
      let q = db.selectFrom('audit_log');
      if (f.actor) q = q.where('actor', '=', f.actor);
      if (f.user_id) q = q.where('user_id', '=', f.user_id);
      if (f.action) q = q.where('action', '=', f.action);
      if (f.target_kind) q = q.where('target_kind', '=', f.target_kind);
      if (f.target_id) q = q.where('target_id', '=', f.target_id);
      if (f.since) q = q.where('ts', '>=', f.since);
      if (f.until) q = q.where('ts', '<', f.until);
      const rows = await q.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
      const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(total.n) };
    });
  }
}
