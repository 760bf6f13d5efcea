import type { Db } from '../store/db.js';

/** A finished job as the alert triggers quote it. */
export interface SettledJob {
  id: string;
  status: string;
  error: string | null;
  error_kind: string | null;
}

/** Reads behind the periodic alert triggers (agent_offline, backup_overdue). SQL only. */
export class AlertRuleRepository {
  constructor(private readonly db: Db) {}

  /** Enrolled hosts with their liveness (pending hosts have no agent yet and never go "offline"). */
  enrolledHosts(): Promise<{ id: string; name: string; status: string; last_seen_at: string | null }[]> {
    return this.db.selectFrom('hosts').select(['id', 'name', 'status', 'last_seen_at']).where('status', '!=', 'pending').execute();
  }

  /** Jobs of the schedules' own hosts only (a foreign host's job naming a schedule never counts). */
  private ownJobs(ids: readonly string[]) {
    return this.db.selectFrom('jobs')
      .innerJoin('schedules', (j) => j.onRef('schedules.id', '=', 'jobs.schedule_id').onRef('schedules.host_id', '=', 'jobs.host_id'))
      .where('jobs.schedule_id', 'in', ids as string[]);
  }

  /** Finish time of the latest successful job per schedule id (jobs of the schedule's host). */
  async lastSuccessPerSchedule(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (ids.length === 0) return out;
    const rows = await this.ownJobs(ids).select((eb) => ['jobs.schedule_id', eb.fn.max('jobs.finished_at').as('last')])
      .where('jobs.status', '=', 'succeeded').groupBy('jobs.schedule_id').execute();
    for (const r of rows) if (r.schedule_id && r.last) out.set(r.schedule_id, String(r.last));
    return out;
  }

  /** The payloads of a job's last `n` stderr log lines, newest first. */
  async lastStderr(jobId: string, n = 20): Promise<string[]> {
    const rows = await this.db.selectFrom('job_logs').select('payload').where('job_id', '=', jobId).where('stream', '=', 'stderr')
      .orderBy('seq', 'desc').limit(n).execute();
    return rows.map((r) => r.payload);
  }

  /** The latest job of `kind` on a host that ended succeeded or failed (cancelled ones say nothing). */
  lastSettledJob(hostId: string, kind: string): Promise<SettledJob | undefined> {
    return this.db.selectFrom('jobs').select(['id', 'status', 'error', 'error_kind']).where('host_id', '=', hostId).where('kind', '=', kind)
      .where('status', 'in', ['succeeded', 'failed']).where('finished_at', 'is not', null).orderBy('finished_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
  }

  /**
   * Schedule ids with a job the agent of the schedule's host has: running, or queued and already sent. A server-fired
   * schedule's job that waits on the server for an offline host is not among them.
   */
  async withJobOnAgent(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.ownJobs(ids).select('jobs.schedule_id')
      .where((eb) => eb.or([eb('jobs.status', '=', 'running'), eb.and([eb('jobs.status', '=', 'queued'), eb('jobs.dispatched_at', 'is not', null)])])).execute();
    return new Set(rows.map((r) => r.schedule_id).filter((s): s is string => !!s));
  }

  hostName(id: string): Promise<string | undefined> {
    return this.db.selectFrom('hosts').select('name').where('id', '=', id).executeTakeFirst().then((r) => r?.name);
  }
}
