import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { SnapshotsTable } from '../store/schema.js';
import { jsonArrayHas } from './json-array.js';

export type SnapshotRow = Selectable<SnapshotsTable>;
export interface SnapshotFilter {
  tag?: string | undefined;
  path?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

export class SnapshotRepository {
  constructor(private readonly db: Db) {}

  /** Replaces the host's cached snapshot list with a full report, in one transaction. */
  async replaceForHost(hostId: string, rows: Insertable<SnapshotsTable>[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('snapshots').where('host_id', '=', hostId).execute();
      for (let i = 0; i < rows.length; i += 200) await tx.insertInto('snapshots').values(rows.slice(i, i + 200)).execute();
    });
  }

  async list(hostId: string, f: SnapshotFilter, limit: number, offset: number): Promise<{ rows: SnapshotRow[]; total: number }> {
    let q = this.db.selectFrom('snapshots').where('host_id', '=', hostId);
    if (f.tag) q = q.where(jsonArrayHas(this.db, 'snapshots.tags', f.tag));
    if (f.path) q = q.where(jsonArrayHas(this.db, 'snapshots.paths', f.path));
    if (f.since) q = q.where('time', '>=', f.since);
    if (f.until) q = q.where('time', '<', f.until);
    const rows = await q.selectAll().orderBy('time', 'desc').limit(limit).offset(offset).execute();
    const t = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows, total: Number(t.n) };
  }

  /** Cached snapshots of the host whose id is `prefix` or starts with it (at most 2: enough to tell "ambiguous"). */
  findByPrefix(hostId: string, prefix: string): Promise<SnapshotRow[]> {
    return this.db.selectFrom('snapshots').selectAll().where('host_id', '=', hostId)
      .where((eb) => eb.or([eb('id', '=', prefix), eb('id', 'like', `${prefix.replace(/[%_]/g, '')}%`)])).limit(2).execute();
  }
}
