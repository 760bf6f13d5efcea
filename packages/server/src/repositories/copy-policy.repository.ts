import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { CopyPoliciesTable, CopyPolicyRunsTable } from '../store/schema.js';
import { readOneSnapshot } from '../store/dialect.js';

export type CopyPolicyRow = Selectable<CopyPoliciesTable>;
export type CopyRunRow = Selectable<CopyPolicyRunsTable>;

/** Copy policies and their per-host bookkeeping (migration 0017). SQL only. */
export class CopyPolicyRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<CopyPoliciesTable>): Promise<void> {
    await this.db.insertInto('copy_policies').values(row).execute();
  }
  findById(id: string): Promise<CopyPolicyRow | undefined> {
    return this.db.selectFrom('copy_policies').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async update(id: string, patch: Updateable<CopyPoliciesTable>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    await this.db.updateTable('copy_policies').set(patch).where('id', '=', id).execute();
  }
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('copy_policy_runs').where('policy_id', '=', id).execute();
    await this.db.deleteFrom('copy_policies').where('id', '=', id).execute();
  }
  list(limit: number, offset: number): Promise<{ rows: CopyPolicyRow[]; total: number }> {
    return readOneSnapshot(this.db, async (db) => {
      const rows = await db.selectFrom('copy_policies').selectAll().orderBy('created_at').orderBy('id').limit(limit).offset(offset).execute();
      const t = await db.selectFrom('copy_policies').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(t.n) };
    });
  }
  /** Every policy (the scheduler, the alert evaluation and the metrics read them all). */
  all(): Promise<CopyPolicyRow[]> {
    return this.db.selectFrom('copy_policies').selectAll().orderBy('created_at').orderBy('id').execute();
  }
  /** Enabled policies copying from `repoId`. */
  enabledFrom(repoId: string): Promise<CopyPolicyRow[]> {
    return this.db.selectFrom('copy_policies').selectAll().where('source_repository_id', '=', repoId).where('enabled', '=', 1).execute();
  }

  runsOf(policyIds: readonly string[]): Promise<CopyRunRow[]> {
    if (policyIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('copy_policy_runs').selectAll().where('policy_id', 'in', [...policyIds]).orderBy('host_id').execute();
  }
  findRun(policyId: string, hostId: string): Promise<CopyRunRow | undefined> {
    return this.db.selectFrom('copy_policy_runs').selectAll().where('policy_id', '=', policyId).where('host_id', '=', hostId).executeTakeFirst();
  }
  findRunByJob(jobId: string): Promise<CopyRunRow | undefined> {
    return this.db.selectFrom('copy_policy_runs').selectAll().where('last_job_id', '=', jobId).executeTakeFirst();
  }
  /** Creates or updates the bookkeeping row of a policy and host. */
  async saveRun(policyId: string, hostId: string, patch: Omit<Updateable<CopyPolicyRunsTable>, 'policy_id' | 'host_id'>): Promise<void> {
    const cur = await this.findRun(policyId, hostId);
    if (cur) {
      if (Object.keys(patch).length) await this.db.updateTable('copy_policy_runs').set(patch).where('policy_id', '=', policyId).where('host_id', '=', hostId).execute();
      return;
    }
    await this.db.insertInto('copy_policy_runs').values({
      policy_id: policyId, host_id: hostId, last_job_id: null, last_copy_at: null, last_copy_status: null, last_success_at: null, last_error: null, ...patch,
    } as Insertable<CopyPolicyRunsTable>).execute();
  }
  /** The latest successful copy of this host's snapshots out of or into the repository (HostRepositoryView.last_copy_at). */
  async lastCopyOf(hostId: string, repoId: string): Promise<string | null> {
    const r = await this.db.selectFrom('copy_policy_runs').innerJoin('copy_policies', 'copy_policies.id', 'copy_policy_runs.policy_id')
      .select((eb) => eb.fn.max('copy_policy_runs.last_success_at').as('at'))
      .where('copy_policy_runs.host_id', '=', hostId)
      .where((eb) => eb.or([eb('copy_policies.source_repository_id', '=', repoId), eb('copy_policies.target_repository_id', '=', repoId)])).executeTakeFirst();
    return r?.at ?? null;
  }
  /** The finish time of the first successful backup of the host into the repository after `after`. */
  async firstBackupAfter(hostId: string, repoId: string, isPrimary: boolean, after: string): Promise<string | null> {
    const r = await this.db.selectFrom('jobs').select((eb) => eb.fn.min('finished_at').as('at'))
      .where('host_id', '=', hostId).where('kind', '=', 'backup').where('status', '=', 'succeeded').where('finished_at', '>', after)
      .where((eb) => (isPrimary ? eb.or([eb('repository_id', '=', repoId), eb('repository_id', 'is', null)]) : eb('repository_id', '=', repoId)))
      .executeTakeFirst();
    return r?.at ?? null;
  }
  /** The host's enabled backup schedules into the repository (their interval sets the copy grace). */
  backupSchedules(hostId: string, repoId: string, isPrimary: boolean): Promise<{ cron_expr: string; time_zone: string | null }[]> {
    return this.db.selectFrom('schedules').select(['cron_expr', 'time_zone'])
      .where('host_id', '=', hostId).where('kind', '=', 'backup').where('enabled', '=', 1)
      .where((eb) => (isPrimary ? eb.or([eb('repository_id', '=', repoId), eb('repository_id', 'is', null)]) : eb('repository_id', '=', repoId)))
      .execute();
  }
  /** Is the job still queued (a copy not started yet will include every snapshot there is)? */
  async isQueued(jobId: string): Promise<boolean> {
    const r = await this.db.selectFrom('jobs').select('id').where('id', '=', jobId).where('status', '=', 'queued').executeTakeFirst();
    return !!r;
  }
}
