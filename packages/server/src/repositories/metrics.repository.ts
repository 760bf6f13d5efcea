import type { Db } from '../store/db.js';

/** The host columns the per-host gauges read. */
export interface HostFigures {
  id: string;
  name: string;
  last_backup_at: string | null;
  last_backup_status: string | null;
  last_vault_backup_at: string | null;
  last_vault_backup_status: string | null;
  repo_size_bytes: number | null;
  snapshot_count: number | null;
}

/** The reads behind `/metrics` (run at scrape time) and the job-duration histogram. */
export class MetricsRepository {
  constructor(private readonly db: Db) {}

  hostFigures(): Promise<HostFigures[]> {
    return this.db.selectFrom('hosts').select(['id', 'name', 'last_backup_at', 'last_backup_status', 'last_vault_backup_at', 'last_vault_backup_status', 'repo_size_bytes', 'snapshot_count']).execute();
  }

  async jobCounts(): Promise<{ kind: string; status: string; n: number }[]> {
    const rows = await this.db.selectFrom('jobs').select(['kind', 'status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['kind', 'status']).execute();
    return rows.map((r) => ({ kind: r.kind, status: r.status, n: Number(r.n) }));
  }

  async activeAlerts(): Promise<number> {
    const row = await this.db.selectFrom('alerts').select((eb) => eb.fn.countAll<number>().as('n')).where('resolved_at', 'is', null).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The last copy of every copy policy and host that has finished one (restic_manager_last_copy_*). */
  copyFigures(): Promise<{ host: string; policy: string; last_copy_at: string | null; last_copy_status: string | null }[]> {
    return this.db.selectFrom('copy_policy_runs').innerJoin('hosts', 'hosts.id', 'copy_policy_runs.host_id')
      .select(['hosts.name as host', 'copy_policy_runs.policy_id as policy', 'copy_policy_runs.last_copy_at', 'copy_policy_runs.last_copy_status'])
      .where('copy_policy_runs.last_copy_at', 'is not', null).execute();
  }

  /** A job's kind and start/finish times, for the duration histogram. */
  jobTimes(jobId: string): Promise<{ kind: string; started_at: string | null; finished_at: string | null } | undefined> {
    return this.db.selectFrom('jobs').select(['kind', 'started_at', 'finished_at']).where('id', '=', jobId).executeTakeFirst();
  }
}
