import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { RestoreDrillsTable } from '../store/schema.js';

export type RestoreDrillRow = Selectable<RestoreDrillsTable>;

/** Restore drills (migration 0031). SQL only. */
export class RestoreDrillRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<RestoreDrillsTable>): Promise<void> {
    await this.db.insertInto('restore_drills').values(row).execute();
  }
  findByJob(jobId: string): Promise<RestoreDrillRow | undefined> {
    return this.db.selectFrom('restore_drills').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  }
  async update(jobId: string, patch: Updateable<RestoreDrillsTable>): Promise<void> {
    await this.db.updateTable('restore_drills').set(patch).where('job_id', '=', jobId).execute();
  }
  /** The host's most recent drills, newest first. */
  recent(hostId: string, limit: number): Promise<RestoreDrillRow[]> {
    return this.db.selectFrom('restore_drills').selectAll().where('host_id', '=', hostId).orderBy('created_at', 'desc').orderBy('job_id').limit(limit).execute();
  }
  /** The host's latest successful drill. */
  lastSuccess(hostId: string): Promise<RestoreDrillRow | undefined> {
    return this.db.selectFrom('restore_drills').selectAll().where('host_id', '=', hostId).where('status', '=', 'succeeded')
      .orderBy('finished_at', 'desc').limit(1).executeTakeFirst();
  }
  /** Per drilled host, its latest finished drill and its latest successful one (metrics, alerts, dashboard). */
  async latestPerHost(): Promise<{ last: RestoreDrillRow; lastSuccess: RestoreDrillRow | null }[]> {
    const rows = await this.db.selectFrom('restore_drills').selectAll().where('finished_at', 'is not', null).orderBy('finished_at', 'desc').execute();
    const out = new Map<string, { last: RestoreDrillRow; lastSuccess: RestoreDrillRow | null }>();
    for (const r of rows) {
      const e = out.get(r.host_id);
      if (!e) out.set(r.host_id, { last: r, lastSuccess: r.status === 'succeeded' ? r : null });
      else if (!e.lastSuccess && r.status === 'succeeded') e.lastSuccess = r;
    }
    return [...out.values()];
  }
  /** Hosts with a drill of any status, and when the first was created. */
  async firstDrillPerHost(): Promise<Map<string, string>> {
    const rows = await this.db.selectFrom('restore_drills').select(['host_id', (eb) => eb.fn.min<string>('created_at').as('first')]).groupBy('host_id').execute();
    return new Map(rows.map((r) => [r.host_id, r.first]));
  }
}
