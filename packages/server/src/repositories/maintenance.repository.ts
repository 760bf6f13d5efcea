import type { Db } from '../store/db.js';
import type { ScheduleRow } from './schedule.repository.js';

/** Queries behind the server-side schedule clock and the overdue view (issue 6). SQL only. */
export class MaintenanceRepository {
  constructor(private readonly db: Db) {}

  /** Enabled schedules of the given kinds, every host; `time_zone` is the schedule's, else its host's. */
  enabledSchedules(kinds?: readonly string[]): Promise<ScheduleRow[]> {
    // A schedule without its own zone uses its host's (migration 0006).
    let q = this.db.selectFrom('schedules').innerJoin('hosts', 'hosts.id', 'schedules.host_id').selectAll('schedules')
      .select((eb) => eb.fn.coalesce('schedules.time_zone', 'hosts.time_zone').as('time_zone')).where('schedules.enabled', '=', 1);
    if (kinds) q = q.where('schedules.kind', 'in', kinds as ScheduleRow['kind'][]);
    return q.orderBy('schedules.host_id').orderBy('schedules.id').execute();
  }

  /**
   * Jobs of the schedules' own hosts only: a job row of another host that names a schedule (an
   * agent reporting under a foreign schedule id) never counts as a run of it.
   */
  private ownJobs(ids: readonly string[]) {
    return this.db.selectFrom('jobs')
      .innerJoin('schedules', (j) => j.onRef('schedules.id', '=', 'jobs.schedule_id').onRef('schedules.host_id', '=', 'jobs.host_id'))
      .where('jobs.schedule_id', 'in', ids as string[]);
  }

  /** Latest job creation time per schedule id (jobs of the schedule's host). */
  async lastRunPerSchedule(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (ids.length === 0) return out;
    const rows = await this.ownJobs(ids).select((eb) => ['jobs.schedule_id', eb.fn.max('jobs.created_at').as('last')])
      .groupBy('jobs.schedule_id').execute();
    for (const r of rows) if (r.schedule_id && r.last) out.set(r.schedule_id, String(r.last));
    return out;
  }

  /** Schedule ids with a queued or running job of the schedule's host. */
  /** The newest job's created_at of each schedule (none: absent). */
  async lastJobAt(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.ownJobs(ids).select(['jobs.schedule_id', (eb) => eb.fn.max('jobs.created_at').as('at')]).groupBy('jobs.schedule_id').execute();
    return new Map(rows.flatMap((r) => (r.schedule_id && r.at ? [[r.schedule_id, String(r.at)] as [string, string]] : [])));
  }

  async busySchedules(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.ownJobs(ids).select('jobs.schedule_id').where('jobs.status', 'in', ['queued', 'running']).execute();
    return new Set(rows.map((r) => r.schedule_id).filter((s): s is string => !!s));
  }
}
