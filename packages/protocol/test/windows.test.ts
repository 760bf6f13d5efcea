import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WEEKDAYS, instantOf, nextAllowedStart, parseDay, setAllows, stopDeadline, wallClock, windowSetProblem } from '../src/windows.js';
import type { BackupWindow, WindowSet } from '../src/windows.js';

const berlin = wallClock({ timezone: 'Europe/Berlin' });
const newYork = wallClock({ timezone: 'America/New_York' });
const utc = wallClock({ utcOffset: 0 });
const at = (s: string): number => Date.parse(s);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const weekNights: WindowSet = { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '06:00', at_end: 'stop' }], blackouts: [] };

describe('backup window maths', () => {
  it('a window crossing midnight opens on its days and closes the next morning', () => {
    // Wednesday 2026-12-02 12:00 Berlin (11:00Z) -> opens 22:00 Berlin (21:00Z).
    expect(iso(nextAllowedStart([weekNights], berlin, at('2026-12-02T11:00:00Z')))).toBe('2026-12-02T21:00:00.000Z');
    // Saturday 05:00 Berlin is inside Friday's window; Saturday 07:00 waits for Monday 22:00.
    expect(setAllows(weekNights, berlin, at('2026-12-05T04:00:00Z'))).toBe(true);
    expect(iso(nextAllowedStart([weekNights], berlin, at('2026-12-05T06:00:00Z')))).toBe('2026-12-07T21:00:00.000Z');
    // The stop deadline of a run starting Friday 23:00 is Saturday 06:00 Berlin.
    expect(iso(stopDeadline([weekNights], berlin, at('2026-12-04T22:00:00Z')))).toBe('2026-12-05T05:00:00.000Z');
  });

  it('blackout days are skipped, including a window open across the midnight into one', () => {
    const set: WindowSet = { ...weekNights, blackouts: [{ from: '2026-12-24', to: '2026-12-27' }] };
    // Wednesday 23 Dec 23:00 Berlin is allowed; after midnight (24 Dec) it is blacked out.
    expect(setAllows(set, berlin, at('2026-12-23T22:00:00Z'))).toBe(true);
    expect(setAllows(set, berlin, at('2026-12-23T23:30:00Z'))).toBe(false);
    expect(iso(nextAllowedStart([set], berlin, at('2026-12-23T23:30:00Z')))).toBe('2026-12-28T21:00:00.000Z');
  });

  it('Europe/Berlin spring forward: a window at 02:30 on the skipped night opens at 03:00', () => {
    const set: WindowSet = { windows: [{ days: ['sun'], start: '02:30', end: '04:00', at_end: 'finish' }], blackouts: [] };
    // 29 March 2026: 02:00 CET -> 03:00 CEST (01:00Z).
    expect(iso(nextAllowedStart([set], berlin, at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    // A week later it opens at 02:30 CEST (00:30Z).
    expect(iso(nextAllowedStart([set], berlin, at('2026-03-30T12:00:00Z')))).toBe('2026-04-05T00:30:00.000Z');
  });

  it('America/New_York fall back: a window at 01:30 opens at the first 01:30 and closes by wall time', () => {
    const set: WindowSet = { windows: [{ days: ['sun'], start: '01:30', end: '03:00', at_end: 'stop' }], blackouts: [] };
    // 1 November 2026: 02:00 EDT -> 01:00 EST. First 01:30 is EDT (05:30Z); 03:00 EST is 08:00Z.
    const open = nextAllowedStart([set], newYork, at('2026-10-31T12:00:00Z'));
    expect(iso(open)).toBe('2026-11-01T05:30:00.000Z');
    expect(iso(stopDeadline([set], newYork, open!))).toBe('2026-11-01T08:00:00.000Z');
    // Spring forward, 8 March 2026: 02:00 EST -> 03:00 EDT; a window 02:00-02:30 never exists that night.
    const gap: WindowSet = { windows: [{ days: ['sun'], start: '02:00', end: '04:00', at_end: 'finish' }], blackouts: [] };
    expect(iso(nextAllowedStart([gap], newYork, at('2026-03-07T12:00:00Z')))).toBe('2026-03-08T07:00:00.000Z');
    expect(iso(instantOf(newYork, parseDay('2026-03-08')!, 150))).toBe('2026-03-08T07:00:00.000Z');
  });

  it('sets combine: a start needs every set to allow it', () => {
    const evenings: WindowSet = { windows: [{ days: [...WEEKDAYS], start: '20:00', end: '23:00', at_end: 'finish' }], blackouts: [] };
    // weekNights opens 22:00; evenings closes 23:00: the intersection is 22:00-23:00 on weekdays.
    expect(iso(nextAllowedStart([weekNights, evenings], utc, at('2026-12-05T12:00:00Z')))).toBe('2026-12-07T22:00:00.000Z');
    expect(iso(stopDeadline([weekNights, evenings], utc, at('2026-12-07T22:30:00Z')))).toBe('2026-12-08T06:00:00.000Z');
  });

  it('refuses sets that never open and malformed fields, naming the field', () => {
    const now = at('2026-12-01T00:00:00Z');
    expect(windowSetProblem({ windows: [{ days: [], start: '22:00', end: '06:00', at_end: 'finish' }], blackouts: [] }, now)?.field).toBe('windows.0.days');
    expect(windowSetProblem({ windows: [{ days: ['mon'], start: '22:00', end: '22:00', at_end: 'finish' }], blackouts: [] }, now)?.field).toBe('windows.0.end');
    expect(windowSetProblem({ windows: [{ days: ['mon'], start: '25:00', end: '06:00', at_end: 'finish' }], blackouts: [] }, now)?.field).toBe('windows.0.start');
    expect(windowSetProblem({ windows: [], blackouts: [{ from: '2026-02-30' }] }, now)?.field).toBe('blackouts.0.from');
    expect(windowSetProblem({ windows: [], blackouts: [{ from: '2026-01-01', to: '2029-01-01' }] }, now)?.message).toMatch(/never opens/);
    expect(windowSetProblem(weekNights, now)).toBeNull();
  });

  it('property: a computed start is inside a window and never on a blackout day', () => {
    const time = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    const win: fc.Arbitrary<BackupWindow> = fc.record({
      days: fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { minLength: 1, maxLength: 7 }),
      start: time, end: time, at_end: fc.constantFrom('finish' as const, 'stop' as const),
    }).filter((w) => w.start !== w.end);
    const day = fc.integer({ min: 0, max: 120 }).map((n) => new Date(Date.UTC(2026, 2, 1) + n * 86_400_000).toISOString().slice(0, 10));
    const set: fc.Arbitrary<WindowSet> = fc.record({ windows: fc.array(win, { minLength: 1, maxLength: 3 }), blackouts: fc.array(day.map((from) => ({ from })), { maxLength: 10 }) });
    const zone = fc.constantFrom('Europe/Berlin', 'America/New_York', 'UTC');
    const start = fc.integer({ min: Date.UTC(2026, 2, 1), max: Date.UTC(2026, 6, 1) });
    fc.assert(fc.property(set, zone, start, (s, z, t) => {
      const clock = wallClock({ timezone: z });
      const n = nextAllowedStart([s], clock, t);
      if (n === null) return;
      expect(n).toBeGreaterThanOrEqual(t);
      expect(setAllows(s, clock, n)).toBe(true);
      const w = clock(n);
      const d = `${w.y}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
      expect(s.blackouts.some((b) => b.from === d)).toBe(false);
      // And it is the first such minute: one minute earlier (if after t) is not allowed.
      if (n - 60_000 >= t) expect(setAllows(s, clock, n - 60_000)).toBe(false);
    }), { numRuns: 150 });
  });
});
