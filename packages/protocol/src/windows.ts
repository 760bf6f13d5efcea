/**
 * Backup windows (issue 21): when a schedule's runs may start, and what happens to a run still
 * going when its window closes. Zod-free (the idle agent imports it through
 * `@restic-manager/protocol/windows`); the zod schemas that check stored and REST input are in
 * window-schemas.ts.
 *
 * A window is a set of weekdays with a start and an end wall-clock time in the schedule's zone.
 * The days name the day the window OPENS on: "mon..fri 22:00-06:00" opens Monday 22:00 and closes
 * Tuesday 06:00, and its last opening is Friday 22:00 (closing Saturday 06:00). `end` "24:00" is
 * midnight at the end of the opening day. Blackouts are whole local days (a date, or an inclusive
 * range) on which no run may start. A window set with no windows allows any time outside its
 * blackouts.
 *
 * Several sets combine (the schedule's own and those of each tag of its host): a run may start
 * only when every set allows it. A run started in a window whose `at_end` is `stop` is cancelled
 * when that window closes; with several, the earliest such close wins.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface BackupWindow {
  days: Weekday[];
  /** "HH:MM", 00:00..23:59. */
  start: string;
  /** "HH:MM", 00:00..24:00; at or before `start` = the next day (crosses midnight). */
  end: string;
  /** What happens to a run still going when the window closes. */
  at_end: 'finish' | 'stop';
}

export interface Blackout {
  /** "YYYY-MM-DD", inclusive. */
  from: string;
  /** "YYYY-MM-DD", inclusive; absent = the single day `from`. */
  to?: string;
}

export interface WindowSet {
  windows: BackupWindow[];
  blackouts: Blackout[];
  /** Where the set comes from, for messages: "schedule" or "tag:<name>". */
  source?: string;
}

/** The reason a run stopped by its window ends with (job.finished.error). */
export const WINDOW_STOP_REASON = 'stopped at the end of its backup window';

/** How far ahead an opening is looked for (a set that does not open within this never opens). */
const HORIZON_DAYS = 400;
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Wall-clock parts of an instant in one zone. */
export interface Wall {
  y: number;
  /** 1..12 */
  m: number;
  d: number;
  /** minutes since local midnight */
  min: number;
  /** 0 = Sunday */
  dow: number;
}

/** Reads the wall clock of an instant (ms) in one zone. */
export type WallClock = (ms: number) => Wall;

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Minutes of "HH:MM" (end may be "24:00"), or null when malformed. */
export function parseTime(s: string, allow24 = false): number | null {
  if (allow24 && s === '24:00') return 1440;
  const m = TIME.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** A "YYYY-MM-DD" that names a real day, as a day number (days since 1970-01-01), or null. */
export function parseDay(s: string): number | null {
  const m = DATE.exec(s);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const back = new Date(ms);
  if (back.getUTCFullYear() !== Number(m[1]) || back.getUTCMonth() + 1 !== Number(m[2]) || back.getUTCDate() !== Number(m[3])) return null;
  return Math.floor(ms / DAY);
}

const dayNumber = (w: { y: number; m: number; d: number }): number => Math.floor(Date.UTC(w.y, w.m - 1, w.d) / DAY);
const dayParts = (n: number): { y: number; m: number; d: number; dow: number } => {
  const t = new Date(n * DAY);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), dow: t.getUTCDay() };
};

/**
 * A wall clock for a zone: `timezone` (an IANA name, via Intl), `utcOffset` (minutes, fixed), or
 * neither (the process's local time, via Date's local getters: no Intl, as the agent's cron).
 * The argument has the shape of the agent's `cronZone()`.
 */
export function wallClock(zone: { timezone?: string; utcOffset?: number } = {}): WallClock {
  if (zone.timezone) {
    const f = new Intl.DateTimeFormat('en-US', { timeZone: zone.timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    const dows: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
    return (ms) => {
      const p: Record<string, string> = {};
      for (const x of f.formatToParts(new Date(ms))) p[x.type] = x.value;
      return { y: Number(p.year), m: Number(p.month), d: Number(p.day), min: (Number(p.hour) % 24) * 60 + Number(p.minute), dow: dows[p.weekday ?? ''] ?? 0 };
    };
  }
  if (zone.utcOffset !== undefined) {
    const off = zone.utcOffset * MINUTE;
    return (ms) => {
      const t = new Date(ms + off);
      return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), min: t.getUTCHours() * 60 + t.getUTCMinutes(), dow: t.getUTCDay() };
    };
  }
  return (ms) => {
    const t = new Date(ms);
    return { y: t.getFullYear(), m: t.getMonth() + 1, d: t.getDate(), min: t.getHours() * 60 + t.getMinutes(), dow: t.getDay() };
  };
}

/** Comparable key of a wall time (local minutes since the epoch, as if the zone were UTC). */
const wallKey = (w: Wall): number => dayNumber(w) * 1440 + w.min;

/**
 * The first instant (whole minute) whose wall clock is at or after local day `day`, minute `min`:
 * the exact instant for an ordinary time, the earlier one in a repeated hour (autumn), and the end
 * of the gap for a time the clocks skip (spring).
 */
export function instantOf(clock: WallClock, day: number, min: number): number {
  const target = day * 1440 + min;
  const guess = target * MINUTE;
  const offset = (ms: number): number => wallKey(clock(ms)) * MINUTE - ms;
  // The zone's offsets a day either side: the target is guess - one of them, unless it is skipped.
  const cands = [...new Set([offset(guess - DAY), offset(guess + DAY)])].map((o) => guess - o).sort((a, b) => a - b);
  const exact = cands.find((c) => wallKey(clock(c)) === target);
  if (exact !== undefined) return exact;
  // A skipped time (spring forward): the first minute past the gap, searched between the candidates.
  let lo = cands[0]! - MINUTE;
  let hi = cands[cands.length - 1]! + MINUTE;
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / MINUTE / 2) * MINUTE;
    if (wallKey(clock(mid)) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

function blackedOut(set: WindowSet, day: number): boolean {
  return set.blackouts.some((b) => {
    const from = parseDay(b.from);
    const to = b.to ? parseDay(b.to) : from;
    return from !== null && to !== null && day >= from && day <= to;
  });
}

interface Occurrence { open: number; close: number; w: BackupWindow }

/** The occurrences of a set's windows that opened on local days `fromDay..toDay`, in instants. */
function occurrences(set: WindowSet, clock: WallClock, fromDay: number, toDay: number): Occurrence[] {
  const out: Occurrence[] = [];
  for (let day = fromDay; day <= toDay; day++) {
    const dow = WEEKDAYS[dayParts(day).dow]!;
    for (const w of set.windows) {
      if (!w.days.includes(dow)) continue;
      const s = parseTime(w.start);
      const e = parseTime(w.end, true);
      if (s === null || e === null || s === e) continue;
      const open = instantOf(clock, day, s);
      const close = e > s ? instantOf(clock, day, e) : instantOf(clock, day + 1, e);
      if (close > open) out.push({ open, close, w });
    }
  }
  return out;
}

/** The windows of `set` open at `t` (empty when none; a set without windows is always open). */
function openAt(set: WindowSet, clock: WallClock, t: number): Occurrence[] {
  const today = dayNumber(clock(t));
  return occurrences(set, clock, today - 1, today).filter((o) => o.open <= t && t < o.close);
}

/** True when `set` lets a run start at `t`. */
export function setAllows(set: WindowSet, clock: WallClock, t: number): boolean {
  if (blackedOut(set, dayNumber(clock(t)))) return false;
  return set.windows.length === 0 || openAt(set, clock, t).length > 0;
}

/** The first instant >= t at which `set` allows a start, or null within the horizon. */
function nextForSet(set: WindowSet, clock: WallClock, t: number): number | null {
  if (setAllows(set, clock, t)) return t;
  const today = dayNumber(clock(t));
  for (let day = today; day <= today + HORIZON_DAYS; day++) {
    if (set.windows.length === 0) {
      // Only blackouts: the first minute of the next day that is not blacked out.
      if (day > today && !blackedOut(set, day)) return instantOf(clock, day, 0);
      continue;
    }
    // Candidates: each window opening on `day` (after t), and the first minute of `day` while an
    // occurrence from the day before is still open (a blackout ended at midnight).
    const cands = occurrences(set, clock, day - 1, day).flatMap((o) => [o.open, ...(day > today ? [instantOf(clock, day, 0)] : [])].filter((c) => c > t && c >= o.open && c < o.close));
    cands.sort((a, b) => a - b);
    for (const c of cands) if (setAllows(set, clock, c)) return c;
  }
  return null;
}

/**
 * The first instant >= `t` at which every set allows a start, or null when there is none within
 * about a year (the sets never open together). No sets: `t`.
 */
export function nextAllowedStart(sets: readonly WindowSet[], clock: WallClock, t: number): number | null {
  let at = t;
  const limit = t + HORIZON_DAYS * DAY;
  for (let i = 0; i < 10_000 && at <= limit; i++) {
    let moved = false;
    for (const s of sets) {
      const n = nextForSet(s, clock, at);
      if (n === null) return null;
      if (n !== at) {
        at = n;
        moved = true;
      }
    }
    if (!moved) return at;
  }
  return null;
}

/**
 * When a run that starts at `t` must be stopped: the earliest close of the windows open at `t`
 * whose `at_end` is `stop` (over every set), or null when none stops it.
 */
export function stopDeadline(sets: readonly WindowSet[], clock: WallClock, t: number): number | null {
  let best: number | null = null;
  for (const s of sets) {
    for (const o of openAt(s, clock, t)) if (o.w.at_end === 'stop' && (best === null || o.close < best)) best = o.close;
  }
  return best;
}

/**
 * Why a window set is refused, as { field, message } (the field relative to the set, e.g.
 * "windows.0.start"), or null when it is fine. Refused: malformed days or times, an empty day
 * set, a zero-length window, a blackout whose end precedes its start, and a set that never opens
 * (its blackouts cover every opening within the horizon, from `now`).
 */
export function windowSetProblem(set: WindowSet, now: number): { field: string; message: string } | null {
  for (const [i, w] of set.windows.entries()) {
    if (!Array.isArray(w.days) || w.days.length === 0) return { field: `windows.${i}.days`, message: 'pick at least one day: a window without days never opens' };
    const bad = w.days.find((d) => !(WEEKDAYS as readonly string[]).includes(d));
    if (bad !== undefined) return { field: `windows.${i}.days`, message: `unknown day ${JSON.stringify(String(bad).slice(0, 10))} (expected ${WEEKDAYS.join(', ')})` };
    const s = parseTime(w.start);
    if (s === null) return { field: `windows.${i}.start`, message: 'expected a time HH:MM (00:00 to 23:59)' };
    const e = parseTime(w.end, true);
    if (e === null) return { field: `windows.${i}.end`, message: 'expected a time HH:MM (00:00 to 24:00)' };
    if (s === e) return { field: `windows.${i}.end`, message: 'the window has no length: end equals start' };
    if (w.at_end !== 'finish' && w.at_end !== 'stop') return { field: `windows.${i}.at_end`, message: 'expected finish or stop' };
  }
  for (const [i, b] of set.blackouts.entries()) {
    const from = parseDay(b.from);
    if (from === null) return { field: `blackouts.${i}.from`, message: 'expected a date YYYY-MM-DD' };
    if (b.to !== undefined) {
      const to = parseDay(b.to);
      if (to === null) return { field: `blackouts.${i}.to`, message: 'expected a date YYYY-MM-DD' };
      if (to < from) return { field: `blackouts.${i}.to`, message: 'the range ends before it starts' };
    }
  }
  // The opening test uses UTC wall time: a set that opens in one zone opens in every zone.
  if (nextAllowedStart([set], wallClock({ utcOffset: 0 }), now) === null) {
    return { field: set.blackouts.length > 0 ? 'blackouts' : 'windows', message: 'the window never opens: the blackout dates cover every opening' };
  }
  return null;
}
