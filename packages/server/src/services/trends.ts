import type { FleetTrendsView, HostTrendsView, JobFinished, RepoStats, TrendMetric, TrendSeries } from '@restic-manager/protocol';
import { TREND_METRICS } from '@restic-manager/protocol';
import type { JobRow } from '../repositories/job.repository.js';
import { TrendRepository } from '../repositories/trend.repository.js';
import type { ServiceDeps } from './context.js';
import { iso } from './context.js';
import { notFound } from './errors.js';
import { ALWAYS_HELD } from './leases.js';
import type { LeaseHolder } from './leases.js';

const DAY_MS = 86_400_000;
/** Raw points are kept this long, then folded into one per UTC day. */
export const RAW_RETENTION_DAYS = 30;
/** Daily aggregates (and fleet days) older than this are deleted. */
export const DAILY_RETENTION_DAYS = 3 * 365;
/** Default window of a trend query: the last year. */
export const DEFAULT_TREND_DAYS = 365;
const COMPACT_EVERY_MS = 3_600_000;

const UNIT: Record<TrendMetric, TrendSeries['unit']> = {
  size_bytes: 'bytes', snapshot_count: 'count', dedup_ratio: 'ratio', added_bytes: 'bytes', duration_seconds: 'seconds', files: 'count',
};
/** Gauges keep the day's last value; bytes added per backup add up; duration and files are a mean per backup. */
export const DAILY_AGGREGATE: Record<TrendMetric, TrendSeries['daily_aggregate']> = {
  size_bytes: 'last', snapshot_count: 'last', dedup_ratio: 'last', added_bytes: 'sum', duration_seconds: 'mean', files: 'mean',
};
const byRule = (r: TrendSeries['daily_aggregate']) => TREND_METRICS.filter((m) => DAILY_AGGREGATE[m] === r);

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
/** The first finite, non-negative number among the given keys (agents report camelCase, restic snake_case). */
const pick = (stats: Record<string, unknown>, ...keys: string[]): number | null => {
  for (const k of keys) {
    const v = num(stats[k]);
    if (v != null) return v;
  }
  return null;
};
const dayOf = (isoTime: string): string => isoTime.slice(0, 10);

/**
 * Time series per host (spec §13 Phase 4 "repo trends", §14.4): repository size, snapshot count
 * and dedup ratio from `repo.stats`; bytes added, duration and files of each succeeded backup
 * from `job.finished`. Raw points for RAW_RETENTION_DAYS, then one point per UTC day (see
 * DAILY_AGGREGATE), deleted after DAILY_RETENTION_DAYS. Recording never throws into the frame
 * handler's caller for a bad stats object: unknown or missing figures are skipped.
 */
export class TrendService {
  private readonly repo: TrendRepository;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly d: ServiceDeps,
    /** The `trend-compaction` lease: one process compacts at a time (several server processes, issue 17). */
    private readonly leases: LeaseHolder = ALWAYS_HELD,
  ) {
    this.repo = new TrendRepository(d.db);
  }

  /** repo.stats: one raw point per reported figure, at the server's clock; refreshes today's fleet total. */
  async recordRepoStats(hostId: string, f: RepoStats): Promise<void> {
    const ts = iso(this.d.now());
    const values: [TrendMetric, number | null][] = [['size_bytes', f.size_bytes], ['snapshot_count', f.snapshot_count], ['dedup_ratio', f.dedup_ratio]];
    await this.repo.insertRaw(values.flatMap(([metric, v]) => (v == null ? [] : [{ host_id: hostId, metric, ts, value: v }])));
    if (f.size_bytes != null) {
      const now = await this.d.repos.hosts.totals();
      await this.repo.setFleetDay({ day: dayOf(ts), total_bytes: now.bytes, hosts: now.sizedHosts, updated_at: ts });
    }
  }

  /** job.finished of a succeeded backup: added bytes, duration and files, at the job's finish time. */
  async recordBackup(job: JobRow, f: JobFinished): Promise<void> {
    if (job.kind !== 'backup' || f.status !== 'succeeded' || !f.stats) return;
    const s = f.stats;
    const started = job.started_at ? Date.parse(job.started_at) : NaN;
    const wall = Number.isFinite(started) ? Math.max(0, (Date.parse(f.finished_at) - started) / 1000) : null;
    const values: [TrendMetric, number | null][] = [
      ['added_bytes', pick(s, 'dataAdded', 'data_added')],
      ['duration_seconds', pick(s, 'durationSeconds', 'total_duration') ?? wall],
      ['files', pick(s, 'totalFilesProcessed', 'total_files_processed')],
    ];
    const ts = new Date(Date.parse(f.finished_at)).toISOString();
    await this.repo.insertRaw(values.flatMap(([metric, v]) => (v == null ? [] : [{ host_id: job.host_id, metric, ts, value: v }])));
  }

  /** One host's series in [since, until] (default: the last DEFAULT_TREND_DAYS days), every metric unless narrowed. */
  async hostTrends(hostId: string, q: { since?: string | undefined; until?: string | undefined; metric?: TrendMetric[] | undefined }): Promise<HostTrendsView> {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    const until = q.until ?? iso(this.d.now());
    const since = q.since ?? iso(Date.parse(until) - DEFAULT_TREND_DAYS * DAY_MS);
    const metrics = q.metric ?? [...TREND_METRICS];
    const rows = await this.repo.range(hostId, metrics, since, until);
    const byMetric = new Map<string, TrendSeries['points']>();
    for (const r of rows) {
      let list = byMetric.get(r.metric);
      if (!list) byMetric.set(r.metric, (list = []));
      list.push({ ts: r.ts, value: r.value, daily: r.daily === 1, samples: r.n });
    }
    return {
      host_id: hostId, since, until,
      series: metrics.map((metric) => ({ metric, unit: UNIT[metric], daily_aggregate: DAILY_AGGREGATE[metric], points: byMetric.get(metric) ?? [] })),
    };
  }

  /** Fleet total repository bytes per UTC day in [since, until] (default: the last DEFAULT_TREND_DAYS days). */
  async fleetTrends(q: { since?: string | undefined; until?: string | undefined }): Promise<FleetTrendsView> {
    const until = q.until ?? iso(this.d.now());
    const since = q.since ?? iso(Date.parse(until) - DEFAULT_TREND_DAYS * DAY_MS);
    const rows = await this.repo.fleetRange(dayOf(since), dayOf(until));
    return { since, until, points: rows.map((r) => ({ day: r.day, total_bytes: r.total_bytes, hosts: r.hosts })) };
  }

  /** Folds raw points older than RAW_RETENTION_DAYS (cut at a UTC day boundary) and drops expired aggregates. */
  async compact(): Promise<{ folded: number; dropped: number }> {
    const now = this.d.now();
    const cutoff = iso(Math.floor((now - RAW_RETENTION_DAYS * DAY_MS) / DAY_MS) * DAY_MS);
    const dropBefore = iso(Math.floor((now - DAILY_RETENTION_DAYS * DAY_MS) / DAY_MS) * DAY_MS);
    const r = await this.repo.compact(cutoff, dropBefore, { sum: byRule('sum'), mean: byRule('mean') });
    await this.repo.dropFleetBefore(dayOf(dropBefore));
    if (r.folded || r.dropped) this.d.log.info({ ...r, cutoff }, 'trend points compacted');
    return r;
  }

  /** Compacts now and then hourly (startServer calls it). */
  start(): void {
    const run = () => void this.leases.held('trend-compaction').then((mine) => (mine ? this.compact() : undefined)).catch((e: unknown) => this.d.log.error({ err: (e as Error).message }, 'trend compaction failed'));
    run();
    this.timer = setInterval(run, COMPACT_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
