import { z } from 'zod';

/*
 * Repository trends (docs/server.md "Trends"): the query strings and answers of
 * `GET /api/hosts/:id/trends` and `GET /api/fleet/trends`.
 */

/**
 * Every recorded series. From `repo.stats`: size_bytes, snapshot_count, dedup_ratio. From a
 * succeeded backup's `job.finished` stats: added_bytes (restic `data_added`), duration_seconds,
 * files (files processed).
 */
export const TREND_METRICS = ['size_bytes', 'snapshot_count', 'dedup_ratio', 'added_bytes', 'duration_seconds', 'files'] as const;
export const TrendMetric = z.enum(TREND_METRICS);
export type TrendMetric = z.infer<typeof TrendMetric>;

const DATE_HINT = 'expected an ISO-8601 date such as 2026-11-01 or 2026-11-01T00:00:00Z';

/** `2026-11-01` (00:00 UTC) or a full ISO-8601 time with offset; normalised to an ISO UTC string. */
export const TrendTime = z.string().max(40).meta({
  description: DATE_HINT,
  // the shape the transform accepts, for the OpenAPI document (the transform also checks the date exists)
  pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))?$',
}).transform((s, ctx) => {
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(s) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(s);
  const t = ok ? Date.parse(/T/.test(s) ? s : `${s}T00:00:00Z`) : NaN;
  if (Number.isNaN(t)) {
    ctx.addIssue({ code: 'custom', message: `${DATE_HINT}, got '${s.slice(0, 40)}'` });
    return z.NEVER;
  }
  return new Date(t).toISOString();
});

const sinceBeforeUntil = (q: { since?: string | undefined; until?: string | undefined }, ctx: z.RefinementCtx) => {
  if (q.since && q.until && q.since > q.until) ctx.addIssue({ code: 'custom', path: ['since'], message: `since (${q.since}) is after until (${q.until})` });
};

/** `?since=&until=&metric=`: defaults are the last 365 days and every metric; `metric` may be a comma-separated list. */
export const HostTrendQuery = z
  .object({
    since: TrendTime.optional(),
    until: TrendTime.optional(),
    metric: z
      .string()
      .max(200)
      .transform((s, ctx) => {
        const names = s.split(',').map((m) => m.trim()).filter(Boolean);
        const bad = names.filter((m) => !(TREND_METRICS as readonly string[]).includes(m));
        if (bad.length || names.length === 0) {
          ctx.addIssue({ code: 'custom', message: `unknown metric '${bad[0] ?? s}': one of ${TREND_METRICS.join(', ')}` });
          return z.NEVER;
        }
        return [...new Set(names)] as TrendMetric[];
      })
      .optional(),
  })
  .strict()
  .superRefine(sinceBeforeUntil);
export type HostTrendQuery = z.infer<typeof HostTrendQuery>;

export const FleetTrendQuery = z.object({ since: TrendTime.optional(), until: TrendTime.optional() }).strict().superRefine(sinceBeforeUntil);
export type FleetTrendQuery = z.infer<typeof FleetTrendQuery>;

/** One point: raw (as reported) or a per-UTC-day aggregate of older points (`daily`, `samples` raw points). */
export const TrendPoint = z.object({ ts: z.string(), value: z.number(), daily: z.boolean(), samples: z.number().int() });
export type TrendPoint = z.infer<typeof TrendPoint>;

export const TrendSeries = z.object({
  metric: TrendMetric,
  unit: z.enum(['bytes', 'count', 'ratio', 'seconds']),
  /** How older points were folded into one per day: last value of the day, sum, or mean. */
  daily_aggregate: z.enum(['last', 'sum', 'mean']),
  points: z.array(TrendPoint),
});
export type TrendSeries = z.infer<typeof TrendSeries>;

export const HostTrendsView = z.object({ host_id: z.string(), since: z.string(), until: z.string(), series: z.array(TrendSeries) });
export type HostTrendsView = z.infer<typeof HostTrendsView>;

/** Per UTC day: the sum of every host's last known repository size that day (`hosts` = how many reported one). */
export const FleetTrendsView = z.object({
  since: z.string(),
  until: z.string(),
  points: z.array(z.object({ day: z.string(), total_bytes: z.number(), hosts: z.number().int() })),
});
export type FleetTrendsView = z.infer<typeof FleetTrendsView>;
