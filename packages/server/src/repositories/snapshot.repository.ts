import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { SnapshotsTable } from '../store/schema.js';
import { readOneSnapshot } from '../store/dialect.js';
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

  /** A page and the total, read on one snapshot (a listing being replaced shows old or new, never a mix). */
  list(hostId: string, f: SnapshotFilter, limit: number, offset: number): Promise<{ rows: SnapshotRow[]; total: number }> {
    return readOneSnapshot(this.db, async (db) => {
      let q = db.selectFrom('snapshots').where('host_id', '=', hostId);
      if (f.tag) q = q.where(jsonArrayHas(db, 'snapshots.tags', f.tag));
      if (f.path) q = q.where(jsonArrayHas(db, 'snapshots.paths', f.path));
      if (f.since) q = q.where('time', '>=', f.since);
      if (f.until) q = q.where('time', '<', f.until);
      const rows = await q.selectAll().orderBy('time', 'desc').limit(limit).offset(offset).execute();
      const t = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(t.n) };
    });
  }

  /**
   * The cached snapshot of the host taken just before `before` in the same repository, by the
   * same hostname, of exactly the same paths (restic stores them sorted, so the JSON text is equal).
   */
  findPrevious(hostId: string, s: { repo_id: string | null; hostname: string; paths: string; time: string }): Promise<SnapshotRow | undefined> {
    let q = this.db.selectFrom('snapshots').selectAll().where('host_id', '=', hostId)
      .where('hostname', '=', s.hostname).where('paths', '=', s.paths).where('time', '<', s.time);
    q = s.repo_id === null ? q.where('repo_id', 'is', null) : q.where('repo_id', '=', s.repo_id);
    return q.orderBy('time', 'desc').limit(1).executeTakeFirst();
  }

  /** How many cached snapshots of the host, by `hostname`, are in repository `repoId`. */
  async countIn(hostId: string, repoId: string, hostname: string): Promise<number> {
    const r = await this.db.selectFrom('snapshots').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('host_id', '=', hostId).where('repo_id', '=', repoId).where('hostname', '=', hostname).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Cached snapshots of the host whose id is `prefix` or starts with it (at most 2: enough to tell "ambiguous"). */
  findByPrefix(hostId: string, prefix: string): Promise<SnapshotRow[]> {
    return this.db.selectFrom('snapshots').selectAll().where('host_id', '=', hostId)
      .where((eb) => eb.or([eb('id', '=', prefix), eb('id', 'like', `${prefix.replace(/[%_]/g, '')}%`)])).limit(2).execute();
  }
}
