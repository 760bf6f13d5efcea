import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { dialectOf } from '../store/dialect.js';

const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

/**
 * Read queries only the web pages need (no REST endpoint exposes them; every write goes through the
 * services): jobs of the last 24 h
 * by status, tags in use, host names for a set of ids, hosts per repo, agent versions, and a
 * default backup path list. All are single indexed or aggregate queries — bench/ui.bench.ts
 * measures the pages that use them.
 */
export class WebReadRepository {
  constructor(private readonly db: Db) {}

  /**
   * `{ succeeded: 12, failed: 1, ... }` for jobs created since `sinceIso`. One range count per
   * status on jobs(status, created_at): a GROUP BY over the whole table would scan every job.
   */
  async jobsByStatusSince(sinceIso: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const status of JOB_STATUSES) {
      const r = await this.db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', status)
        .where('created_at', '>=', sinceIso)
        .executeTakeFirstOrThrow();
      if (Number(r.n) > 0) out[status] = Number(r.n);
    }
    return out;
  }

  /** Every distinct host tag, sorted. */
  async tags(): Promise<string[]> {
    const q = dialectOf(this.db) === 'postgres'
      ? sql<{ tag: string }>`select distinct e.v as tag from hosts, jsonb_array_elements_text(hosts.tags::jsonb) as e(v) order by 1 limit 500`
      : sql<{ tag: string }>`select distinct json_each.value as tag from hosts, json_each(hosts.tags) order by 1 limit 500`;
    const rows = await q.execute(this.db);
    return rows.rows.map((r) => r.tag);
  }

  /** id -> name for the given host ids. */
  async hostNames(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows = await this.db.selectFrom('hosts').select(['id', 'name']).where('id', 'in', unique).execute();
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** repo id -> the hosts using it. */
  async hostsByRepo(repoIds: readonly string[]): Promise<Map<string, { id: string; name: string }[]>> {
    const out = new Map<string, { id: string; name: string }[]>();
    if (repoIds.length === 0) return out;
    const rows = await this.db.selectFrom('hosts').select(['id', 'name', 'repo_id']).where('repo_id', 'in', [...repoIds]).execute();
    for (const r of rows) if (r.repo_id) (out.get(r.repo_id) ?? out.set(r.repo_id, []).get(r.repo_id)!).push({ id: r.id, name: r.name });
    return out;
  }

  async agentVersions(): Promise<{ version: string; hosts: number }[]> {
    const rows = await this.db
      .selectFrom('hosts')
      .select(['agent_version', (eb) => eb.fn.countAll<number>().as('n')])
      .where('agent_version', 'is not', null)
      .groupBy('agent_version')
      .execute();
    return rows.map((r) => ({ version: r.agent_version ?? '', hosts: Number(r.n) }));
  }

  /** Paths of the host's first enabled backup schedule (the "Run now" default), or []. */
  async defaultBackupPaths(hostId: string): Promise<string[]> {
    const row = await this.db
      .selectFrom('schedules')
      .select('paths')
      .where('host_id', '=', hostId)
      .where('kind', '=', 'backup')
      .orderBy('enabled', 'desc')
      .orderBy('created_at')
      .executeTakeFirst();
    return row ? (JSON.parse(row.paths) as string[]) : [];
  }

  /** Last `limit` log lines of a job (for the live view's initial render), oldest first. */
  async logTail(jobId: string, limit: number) {
    const rows = await this.db.selectFrom('job_logs').selectAll().where('job_id', '=', jobId).orderBy('seq', 'desc').limit(limit).execute();
    return rows.reverse();
  }

  /** Ids of disabled user accounts. */
  async disabledUserIds(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('users').select('id').where('disabled_at', 'is not', null).execute();
    return new Set(rows.map((r) => r.id));
  }
}
