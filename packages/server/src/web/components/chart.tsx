import { raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/*
 * Server-rendered inline SVG charts (no chart library, no script). The SVG is built as one
 * string: a year of daily points plus 30 days of hourly ones is ~1,100 points per chart, and
 * string building keeps the host page's Repo tab well under its render budget (docs/ui.md).
 * Accessibility: role="img" with a <title> and a <desc> (range, min, max, latest), axis labels,
 * a <title> per point (the number on hover), and a table of the latest points as a fallback.
 */

export interface ChartPoint {
  /** ISO time. */
  ts: string;
  value: number;
  /** A per-day aggregate (drawn hollow). */
  daily?: boolean;
}

/** More points than this: raw points get one hover target per day (keeps a 1-year chart small). */
const HOVER_MAX = 400;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();
const day = (iso: string): string => iso.slice(0, 10);
/** "2026-11-22 02:31 UTC" straight from the ISO string (no Date parsing: ~1,100 of these per chart). */
const minute = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
const when = (p: ChartPoint): string => (p.daily ? `${day(p.ts)} (daily)` : minute(p.ts));

interface Scaled {
  xs: number[];
  ys: number[];
  max: number;
}

function scale(points: ChartPoint[], w: number, h: number, pad: { l: number; r: number; t: number; b: number }): Scaled {
  const ts = points.map((p) => Date.parse(p.ts));
  const t0 = ts[0] ?? 0;
  const t1 = ts[ts.length - 1] ?? t0;
  const span = t1 - t0 || 1;
  let max = 0;
  for (const p of points) if (p.value > max) max = p.value;
  const ymax = max || 1;
  const iw = w - pad.l - pad.r;
  const ih = h - pad.t - pad.b;
  return {
    xs: ts.map((t) => (points.length === 1 ? pad.l + iw / 2 : pad.l + ((t - t0) / span) * iw)),
    ys: points.map((p) => pad.t + ih - (p.value / ymax) * ih),
    max,
  };
}

const pathOf = (xs: number[], ys: number[]): string => {
  let d = '';
  for (let i = 0; i < xs.length; i++) d += `${i === 0 ? 'M' : 'L'}${r1(xs[i]!)} ${r1(ys[i]!)}`;
  return d;
};

/**
 * A line chart of one series (oldest first). `fmt` formats a value for labels and hover titles.
 * The y axis starts at 0 so growth is not exaggerated. Renders an empty state when there are no points.
 */
export function LineChart(props: { id: string; title: string; points: ChartPoint[]; fmt: (v: number) => string; tableRows?: number }): HtmlEscapedString {
  const { id, title, points, fmt } = props;
  if (points.length === 0) {
    return raw(`<figure class="chart" id="${esc(id)}" data-points="0"><figcaption>${esc(title)}</figcaption><p class="chart-empty muted">No data yet: points appear after the agent reports repository figures or a backup finishes.</p></figure>`);
  }
  // Drawn at about its viewBox size in the Repo tab's grid, so the 12-unit tick text stays legible.
  const W = 360;
  const H = 150;
  const pad = { l: 60, r: 8, t: 8, b: 22 };
  const s = scale(points, W, H, pad);
  const first = points[0]!;
  const last = points[points.length - 1]!;
  let min = Infinity;
  for (const p of points) if (p.value < min) min = p.value;
  const desc = `${points.length} points from ${day(first.ts)} to ${day(last.ts)}; lowest ${fmt(min)}, highest ${fmt(s.max)}, latest ${fmt(last.value)}.`;
  // Hover targets: every point, except that raw points are thinned to the last one of each UTC
  // day when there are more than HOVER_MAX (the line still goes through every point).
  const thin = points.length > HOVER_MAX;
  let dots = '';
  let hovers = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (thin && !p.daily && i + 1 < points.length && day(points[i + 1]!.ts) === day(p.ts)) continue;
    hovers++;
    const label = thin && !p.daily ? `${day(p.ts)} (last of the day)` : when(p);
    dots += `<circle${p.daily ? ' class="daily"' : ''} cx="${r1(s.xs[i]!)}" cy="${r1(s.ys[i]!)}" r="3"><title>${label}: ${esc(fmt(p.value))}</title></circle>`;
  }
  const yTop = pad.t;
  const yBottom = H - pad.b;
  const svg =
    `<svg class="chart-svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${esc(id)}-t ${esc(id)}-d">` +
    `<title id="${esc(id)}-t">${esc(title)}</title><desc id="${esc(id)}-d">${esc(desc)}</desc>` +
    `<line class="axis" x1="${pad.l}" y1="${yBottom}" x2="${W - pad.r}" y2="${yBottom}"/><line class="axis" x1="${pad.l}" y1="${yTop}" x2="${pad.l}" y2="${yBottom}"/>` +
    `<line class="grid" x1="${pad.l}" y1="${yTop}" x2="${W - pad.r}" y2="${yTop}"/>` +
    `<text class="tick" x="${pad.l - 6}" y="${yTop + 4}" text-anchor="end">${esc(fmt(s.max))}</text>` +
    `<text class="tick" x="${pad.l - 6}" y="${yBottom}" text-anchor="end">${esc(fmt(0))}</text>` +
    `<text class="tick" x="${pad.l}" y="${H - 5}">${day(first.ts)}</text>` +
    `<text class="tick" x="${W - pad.r}" y="${H - 5}" text-anchor="end">${day(last.ts)}</text>` +
    `<path class="chart-line" d="${pathOf(s.xs, s.ys)}"/>` +
    `<g class="pts">${dots}</g></svg>`;
  const n = Math.min(points.length, props.tableRows ?? 10);
  let rows = '';
  for (let i = points.length - 1; i >= points.length - n; i--) {
    const p = points[i]!;
    rows += `<tr><td class="nowrap">${esc(when(p))}</td><td class="num">${esc(fmt(p.value))}</td></tr>`;
  }
  const table = `<details class="chart-table"><summary>Latest ${n} of ${points.length} as a table</summary><div class="table-wrap"><table><thead><tr><th>Time</th><th class="num">${esc(title)}</th></tr></thead><tbody>${rows}</tbody></table></div></details>`;
  return raw(`<figure class="chart" id="${esc(id)}" data-points="${points.length}" data-hover-points="${hovers}"><figcaption>${esc(title)} <span class="muted">· latest ${esc(fmt(last.value))}</span></figcaption>${svg}${table}</figure>`);
}

/** A small line without axes (dashboard): role="img", a <title>/<desc>, and a hover title per point. */
export function Sparkline(props: { id: string; title: string; points: ChartPoint[]; fmt: (v: number) => string }): HtmlEscapedString {
  const { id, title, points, fmt } = props;
  if (points.length < 2) return raw(`<span class="sparkline-empty faint" id="${esc(id)}" data-points="${points.length}">trend after two days of data</span>`);
  const W = 160;
  const H = 36;
  const s = scale(points, W, H, { l: 2, r: 2, t: 3, b: 3 });
  const first = points[0]!;
  const last = points[points.length - 1]!;
  let dots = '';
  for (let i = 0; i < points.length; i++) dots += `<circle cx="${r1(s.xs[i]!)}" cy="${r1(s.ys[i]!)}" r="2"><title>${esc(`${day(points[i]!.ts)}: ${fmt(points[i]!.value)}`)}</title></circle>`;
  return raw(
    `<svg class="sparkline" id="${esc(id)}" data-points="${points.length}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${esc(id)}-t ${esc(id)}-d">` +
      `<title id="${esc(id)}-t">${esc(title)}</title><desc id="${esc(id)}-d">${esc(`${points.length} days from ${day(first.ts)} (${fmt(first.value)}) to ${day(last.ts)} (${fmt(last.value)}); highest ${fmt(s.max)}.`)}</desc>` +
      `<path class="chart-line" d="${pathOf(s.xs, s.ys)}"/><g class="pts">${dots}</g></svg>`,
  );
}
