import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../src/vault/daemon-plan.js';

const t = { backupIntervalMs: 1000, minTimeBetweenRunMs: 2000, fullScanIntervalMs: 3_600_000 };
const t0 = 1_700_000_000_000;

describe('vault daemon rules', () => {
  it('backs up at start (dirty, never run)', () => {
    expect(decide({ dirty: true, lastRun: 0, lastFull: 0 }, t, t0)).toEqual({ run: true, full: true });
  });

  it('never backs up when nothing changed and no full scan is due, however long it waits', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: t.fullScanIntervalMs - 1 }), (wait) => {
      expect(decide({ dirty: false, lastRun: t0, lastFull: t0 }, t, t0 + wait)).toEqual({ run: false });
    }));
  });

  it('after a change, waits for backup_interval and min_time_between_run, whichever is later', () => {
    const s = { dirty: true, lastRun: t0, lastFull: t0 };
    expect(decide(s, t, t0 + 1500)).toEqual({ run: false });
    expect(decide(s, t, t0 + 2000)).toEqual({ run: true, full: false });
    expect(decide(s, { ...t, backupIntervalMs: 5000 }, t0 + 4999)).toEqual({ run: false });
  });

  it('runs a full scan when it is due, even with nothing changed, but not sooner than min_time_between_run', () => {
    expect(decide({ dirty: false, lastRun: t0, lastFull: t0 }, t, t0 + t.fullScanIntervalMs)).toEqual({ run: true, full: true });
    expect(decide({ dirty: false, lastRun: t0 + t.fullScanIntervalMs - 100, lastFull: t0 }, t, t0 + t.fullScanIntervalMs)).toEqual({ run: false });
  });
});
