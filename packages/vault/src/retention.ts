/**
 * Retention policy (restic `forget` semantics): a snapshot is kept if any rule keeps
 * it. keep_last keeps the newest n; keep_hourly/daily/weekly/monthly/yearly keep the
 * newest snapshot in each of the n newest periods that have one; keep_within keeps
 * everything younger than the duration (relative to the newest snapshot).
 */
export interface RetentionPolicy {
  keep_last?: number;
  keep_hourly?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
  keep_yearly?: number;
  /** milliseconds */
  keep_within?: number;
}

const PERIODS: Array<[keyof RetentionPolicy, (d: Date) => string]> = [
  ['keep_hourly', (d) => d.toISOString().slice(0, 13)],
  ['keep_daily', (d) => d.toISOString().slice(0, 10)],
  [
    'keep_weekly',
    (d) => {
      const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
      t.setUTCDate(t.getUTCDate() - ((t.getUTCDay() + 6) % 7)); // Monday of that week
      return t.toISOString().slice(0, 10);
    },
  ],
  ['keep_monthly', (d) => d.toISOString().slice(0, 7)],
  ['keep_yearly', (d) => d.toISOString().slice(0, 4)],
];

export function isEmptyPolicy(p: RetentionPolicy): boolean {
  return !Object.values(p).some((v) => typeof v === 'number' && v > 0);
}

/** Returns the ids to keep. An empty policy keeps everything. */
export function applyRetention<T extends { id: string; time: Date }>(snaps: T[], p: RetentionPolicy): Set<string> {
  if (isEmptyPolicy(p)) return new Set(snaps.map((s) => s.id));
  const newestFirst = [...snaps].sort((a, b) => b.time.getTime() - a.time.getTime() || b.id.localeCompare(a.id));
  const keep = new Set<string>();
  newestFirst.slice(0, p.keep_last ?? 0).forEach((s) => keep.add(s.id));
  for (const [rule, bucket] of PERIODS) {
    const n = (p[rule] as number | undefined) ?? 0;
    const seen = new Set<string>();
    for (const s of newestFirst) {
      if (seen.size >= n) break;
      const b = bucket(s.time);
      if (seen.has(b)) continue;
      seen.add(b);
      keep.add(s.id);
    }
  }
  if (p.keep_within && newestFirst[0]) {
    const cutoff = newestFirst[0].time.getTime() - p.keep_within;
    for (const s of newestFirst) if (s.time.getTime() >= cutoff) keep.add(s.id);
  }
  return keep;
}
