import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobLogsTable, JobsTable } from '../store/schema.js';
import { readOneSnapshot } from '../store/dialect.js';

export type JobRow = Selectable<JobsTable>;
export type JobLogRow = Selectable<JobLogsTable>;
export interface JobFilter {
  host_id?: string | undefined;
  kind?: string | undefined;
  status?: JobsTable['status'] | undefined;
  since?: string | undefined;
  until?: string | undefined;
  /** Only jobs of these hosts (a scoped caller's hosts); undefined = every host. */
  host_ids?: string[] | undefined;
}

export class JobRepository {
  constructor(private readonly db: Db) {}

  /**
   * Finish time of the host's last successful backup into `repoId` (issue 15): jobs that name it,
   * and for the primary also jobs that name none. Null when no such job is stored.
   */
  async lastBackupInto(hostId: string, repoId: string, isPrimary: boolean): Promise<string | null> {
    const r = await this.db.selectFrom('jobs').select((eb) => eb.fn.max('finished_at').as('at'))
      .where('host_id', '=', hostId).where('kind', '=', 'backup').where('status', '=', 'succeeded')
      .where((eb) => (isPrimary ? eb.or([eb('repository_id', '=', repoId), eb('repository_id', 'is', null)]) : eb('repository_id', '=', repoId)))
      .executeTakeFirst();
    return r?.at ?? null;
  }

  /**
   * The last forget or prune job against `repoId` (jobs that name it, and jobs naming none of a
   * host in `primaryOf`, whose primary it is) that ran and finished at or after `since`; the
   * snapshot ledger's "authorised removal" (issue 16). Undefined when there is none.
   */
  lastMaintenanceSince(repoId: string, primaryOf: readonly string[], since: string): Promise<Pick<JobRow, 'id' | 'kind' | 'finished_at'> | undefined> {
    return this.db.selectFrom('jobs').select(['id', 'kind', 'finished_at']).where('kind', 'in', ['forget', 'prune'])
      .where('status', 'in', ['succeeded', 'failed', 'cancelled']).where('started_at', 'is not', null).where('finished_at', '>=', since)
      .where((eb) => eb.or([
        eb('repository_id', '=', repoId),
        ...(primaryOf.length ? [eb.and([eb('repository_id', 'is', null), eb('host_id', 'in', [...primaryOf])])] : []),
      ]))
      .orderBy('finished_at', 'desc').limit(1).executeTakeFirst();
  }

  /** Jobs of `kind` created at or after `since` (any host, any status). */
  async countCreatedSince(kinds: string | readonly string[], since: string): Promise<number> {
    const list = typeof kinds === 'string' ? [kinds] : [...kinds];
    const r = await this.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', 'in', list).where('created_at', '>=', since).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async insert(row: Insertable<JobsTable>): Promise<void> {
    await this.db.insertInto('jobs').values(row).execute();
  }
  findById(id: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async update(id: string, patch: Updateable<JobsTable>): Promise<void> {
    await this.db.updateTable('jobs').set(patch).where('id', '=', id).execute();
  }
  /** Updates only while the job is in one of `from`; returns whether it changed. */
  async transition(id: string, from: JobsTable['status'][], patch: Updateable<JobsTable>): Promise<boolean> {
    const r = await this.db.updateTable('jobs').set(patch).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  list(f: JobFilter, order: 'asc' | 'desc', limit: number, offset: number): Promise<{ rows: JobRow[]; total: number }> {
    return readOneSnapshot(this.db, async (db) => {
      let q = db.selectFrom('jobs');
      if (f.host_id) q = q.where('host_id', '=', f.host_id);
      if (f.host_ids) q = f.host_ids.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('host_id', 'in', f.host_ids);
      if (f.kind) q = q.where('kind', '=', f.kind);
      if (f.status) q = q.where('status', '=', f.status);
      if (f.since) q = q.where('created_at', '>=', f.since);
      if (f.until) q = q.where('created_at', '<', f.until);
      const rows = await q.selectAll().orderBy('created_at', order).orderBy('id', order).limit(limit).offset(offset).execute();
      const t = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(t.n) };
    });
  }

  /** Jobs of a host that are not terminal. */
  activeForHost(hostId: string): Promise<JobRow[]> {
    return this.db.selectFrom('jobs').selectAll().where('host_id', '=', hostId).where('status', 'in', ['queued', 'running']).orderBy('created_at').execute();
  }
  /** Queued or running jobs of a host that a schedule created (the agent's cap, AGENT_JOB_LIMITS). */
  async countActiveScheduled(hostId: string): Promise<number> {
    const r = await this.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('host_id', '=', hostId)
      .where('actor_kind', '=', 'schedule').where('status', 'in', ['queued', 'running']).executeTakeFirstOrThrow();
    return Number(r.n);
  }
  async countByStatus(status: JobsTable['status']): Promise<number> {
    const r = await this.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', status).executeTakeFirstOrThrow();
    return Number(r.n);
  }
  async countsByKindStatus(): Promise<{ kind: string; status: string; n: number }[]> {
    const rows = await this.db.selectFrom('jobs').select(['kind', 'status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['kind', 'status']).execute();
    return rows.map((r) => ({ kind: r.kind, status: r.status, n: Number(r.n) }));
  }

  /** Records (job_id, seq); false when it was seen before (a replay). */
  async claimEvent(jobId: string, seq: number, type: string): Promise<boolean> {
    const r = await this.db.insertInto('job_events').values({ job_id: jobId, seq, type }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
  /** Inserts a log line; false when (job_id, seq) already exists. */
  async insertLog(row: Insertable<JobLogsTable>): Promise<boolean> {
    const r = await this.db.insertInto('job_logs').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
  /** Stored log lines of a job and their payload length (characters; the per-job quota). */
  async logUsage(jobId: string): Promise<{ lines: number; bytes: number }> {
    const r = await this.db.selectFrom('job_logs').where('job_id', '=', jobId)
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number | null>(eb.fn('length', ['payload'])).as('b')]).executeTakeFirstOrThrow();
    return { lines: Number(r.n), bytes: Number(r.b ?? 0) };
  }
  /** Rewrites one stored line (the truncation marker's final count). */
  async updateLogPayload(jobId: string, seq: number, payload: string): Promise<void> {
    await this.db.updateTable('job_logs').set({ payload }).where('job_id', '=', jobId).where('seq', '=', seq).execute();
  }
  logs(jobId: string, afterSeq: number, limit: number): Promise<JobLogRow[]> {
    return this.db.selectFrom('job_logs').selectAll().where('job_id', '=', jobId).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
  }
}
