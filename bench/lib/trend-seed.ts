import type { Kysely } from 'kysely';

/*
 * Seeds a host's trend points straight into the store (migration 0012's trend_points): `days`
 * daily aggregates before the raw window plus `hourlyDays` days of hourly raw points, for every
 * metric — what a host looks like after a year of hourly repo.stats and backups. Used by
 * bench/ui.bench.ts and the Repo tab browser test.
 */
type AnyDb = Kysely<Record<string, Record<string, unknown>>>;

const METRICS = ['size_bytes', 'snapshot_count', 'dedup_ratio', 'added_bytes', 'duration_seconds', 'files'] as const;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function value(metric: (typeof METRICS)[number], i: number): number {
  switch (metric) {
    case 'size_bytes': return 50e9 + i * 2e7 + (i % 7) * 1e8;
    case 'snapshot_count': return 100 + (i % 50);
    case 'dedup_ratio': return 1.5 + (i % 10) / 20;
    case 'added_bytes': return 1e8 + (i % 13) * 1e7;
    case 'duration_seconds': return 300 + (i % 17) * 10;
    case 'files': return 120_000 + (i % 23) * 100;
  }
}

/** Returns how many points were written per metric (days + hourlyDays * 24). */
export async function seedTrends(db: unknown, hostId: string, o: { days: number; hourlyDays: number; now?: number }): Promise<number> {
  const d = db as AnyDb;
  const now = o.now ?? Date.now();
  const rawStart = Math.floor((now - o.hourlyDays * DAY) / DAY) * DAY;
  const rows: Record<string, unknown>[] = [];
  for (let k = 0; k < o.days; k++) {
    const ts = new Date(rawStart - (o.days - k) * DAY).toISOString();
    for (const m of METRICS) rows.push({ host_id: hostId, metric: m, ts, value: value(m, k), n: 24, daily: 1 });
  }
  for (let k = 0; k < o.hourlyDays * 24; k++) {
    const ts = new Date(rawStart + k * HOUR + 60_000).toISOString();
    for (const m of METRICS) rows.push({ host_id: hostId, metric: m, ts, value: value(m, o.days + k), n: 1, daily: 0 });
  }
  for (let i = 0; i < rows.length; i += 500) await d.insertInto('trend_points').values(rows.slice(i, i + 500)).execute();
  return o.days + o.hourlyDays * 24;
}
