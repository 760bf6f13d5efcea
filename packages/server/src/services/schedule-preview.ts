import { nextRuns } from './overdue.js';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const num = (s: string): boolean => /^\d+$/.test(s);
const pad = (s: string): string => s.padStart(2, '0');

/**
 * A short English description of common cron shapes (croner syntax, 5 or 6 fields); anything
 * else is described as "custom" — the next-runs list is the ground truth either way.
 */
export function describeCron(expr: string): string {
  const f = expr.trim().split(/\s+/);
  const [sec, min, hour, dom, mon, dow] = f.length === 6 ? f : ['0', ...f];
  if (f.length < 5 || f.length > 6 || !min || !hour || !dom || !mon || !dow) return 'custom schedule';
  const at = num(hour) && num(min) ? `at ${pad(hour)}:${pad(min)}${sec && sec !== '0' && num(sec) ? `:${pad(sec)}` : ''}` : null;
  const everyDay = dom === '*' && mon === '*' && dow === '*';
  if (sec === '*' && min === '*' && hour === '*' && everyDay) return 'every second';
  if (sec?.startsWith('*/') && min === '*' && hour === '*' && everyDay) return `every ${sec.slice(2)} seconds`;
  if (min === '*' && hour === '*' && everyDay) return 'every minute';
  if (min.startsWith('*/') && hour === '*' && everyDay) return `every ${min.slice(2)} minutes`;
  if (num(min) && hour === '*' && everyDay) return `every hour at minute ${min}`;
  if (num(min) && hour.startsWith('*/') && everyDay) return `every ${hour.slice(2)} hours at minute ${min}`;
  if (at && everyDay) return `${at} every day`;
  if (at && dom === '*' && mon === '*' && /^[0-7](,[0-7])*$/.test(dow)) return `${at} on ${dow.split(',').map((d) => DAYS[Number(d) % 7]).join(', ')}`;
  if (at && dom === '*' && mon === '*' && dow === '1-5') return `${at} on weekdays`;
  if (at && num(dom) && mon === '*' && dow === '*') return `${at} on day ${dom} of every month`;
  return 'custom schedule';
}

export type CronPreview = { ok: true; description: string; time_zone: string; next: string[] } | { ok: false; error: string };

/** Validates with croner in `timeZone` (null: the server's zone) and lists the next five runs. */
export function cronPreview(expr: string, timeZone: string | null, now: number): CronPreview {
  try {
    const next = nextRuns(expr, timeZone, 5, new Date(now));
    if (next.length === 0) return { ok: false, error: 'this expression never fires again' };
    return { ok: true, description: describeCron(expr), time_zone: timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone, next: next.map((d) => d.toISOString()) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
