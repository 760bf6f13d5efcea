import type { HostTrendsView, TrendMetric } from '@restic-manager/protocol';
import { LineChart } from '../components/chart.js';
import { fmtBytes, fmtCount, fmtDuration } from '../components/format.js';

const CHARTS: { metric: TrendMetric; title: string; fmt: (v: number) => string }[] = [
  { metric: 'size_bytes', title: 'Repository size', fmt: fmtBytes },
  { metric: 'snapshot_count', title: 'Snapshots', fmt: (v) => fmtCount(Math.round(v)) },
  { metric: 'dedup_ratio', title: 'Dedup ratio', fmt: (v) => `${v.toFixed(2)}×` },
  { metric: 'added_bytes', title: 'Data added per backup', fmt: fmtBytes },
  { metric: 'duration_seconds', title: 'Backup duration', fmt: fmtDuration },
  { metric: 'files', title: 'Files per backup', fmt: (v) => fmtCount(Math.round(v)) },
];

/** The Repo tab's trend charts (a year by default: raw points for 30 days, one per day before). */
export function RepoTrendsCard(props: { trends: HostTrendsView }) {
  const t = props.trends;
  const bySeries = new Map(t.series.map((s) => [s.metric, s]));
  return (
    <section class="card" id="trends" aria-labelledby="trends-h">
      <div class="card-head">
        <h2 id="trends-h">Trends</h2>
        <span class="muted" style="font-size:.88rem">
          {t.since.slice(0, 10)} – {t.until.slice(0, 10)} · every report for 30 days, one point per day before (hollow)
        </span>
      </div>
      <div class="card-body chart-grid">
        {CHARTS.map((c) => {
          const s = bySeries.get(c.metric);
          const note = s && s.daily_aggregate !== 'last' ? ` (daily ${s.daily_aggregate === 'sum' ? 'total' : 'mean'} before 30 days)` : '';
          return LineChart({ id: `chart-${c.metric}`, title: c.title + note, fmt: c.fmt, points: (s?.points ?? []).map((p) => ({ ts: p.ts, value: p.value, daily: p.daily })) });
        })}
      </div>
    </section>
  );
}
