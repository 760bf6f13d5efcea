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

  /**
   * Restore drills (issue 16): per drilled host its last finished drill, and per host and engine
   * the RTO estimate of its last successful drill.
   */
  async drillFigures(): Promise<{ last: { host: string; finished_at: string; status: string; duration_seconds: number | null }[]; rto: { host: string; engine: string; rto_seconds: number }[] }> {
    const rows = await this.db.selectFrom('restore_drills').innerJoin('hosts', 'hosts.id', 'restore_drills.host_id')
      .select(['hosts.name as host', 'restore_drills.finished_at', 'restore_drills.status', 'restore_drills.duration_seconds', 'restore_drills.engine', 'restore_drills.rto_seconds'])
      .where('restore_drills.finished_at', 'is not', null).orderBy('restore_drills.finished_at', 'desc').execute();
    const last = new Map<string, { host: string; finished_at: string; status: string; duration_seconds: number | null }>();
    const rto = new Map<string, { host: string; engine: string; rto_seconds: number }>();
    for (const r of rows) {
      if (!last.has(r.host)) last.set(r.host, { host: r.host, finished_at: r.finished_at ?? '', status: r.status, duration_seconds: r.duration_seconds });
      const k = `${r.host}\0${r.engine}`;
      if (r.status === 'succeeded' && r.rto_seconds != null && !rto.has(k)) rto.set(k, { host: r.host, engine: r.engine, rto_seconds: r.rto_seconds });
    }
    return { last: [...last.values()], rto: [...rto.values()] };
  }

  /** A job's kind and start/finish times, for the duration histogram. */
  jobTimes(jobId: string): Promise<{ kind: string; started_at: string | null; finished_at: string | null } | undefined> {
    return this.db.selectFrom('jobs').select(['kind', 'started_at', 'finished_at']).where('id', '=', jobId).executeTakeFirst();
  }
}
