import type { Db } from '../store/db.js';

/** Reads behind the periodic alert triggers (agent_offline, backup_overdue). SQL only. */
export class AlertRuleRepository {
  constructor(private readonly db: Db) {}

  /** Enrolled hosts with their liveness (pending hosts have no agent yet and never go "offline"). */
  enrolledHosts(): Promise<{ id: string; name: string; status: string; last_seen_at: string | null }[]> {
    return this.db.selectFrom('hosts').select(['id', 'name', 'status', 'last_seen_at']).where('status', '!=', 'pending').execute();
  }

  /** Finish time of the latest successful job per schedule id. */
  async lastSuccessPerSchedule(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (ids.length === 0) return out;
    const rows = await this.db.selectFrom('jobs').select((eb) => ['schedule_id', eb.fn.max('finished_at').as('last')])
      .where('schedule_id', 'in', ids as string[]).where('status', '=', 'succeeded').groupBy('schedule_id').execute();
    for (const r of rows) if (r.schedule_id && r.last) out.set(r.schedule_id, String(r.last));
    return out;
  }

  hostName(id: string): Promise<string | undefined> {
    return this.db.selectFrom('hosts').select('name').where('id', '=', id).executeTakeFirst().then((r) => r?.name);
  }
}
