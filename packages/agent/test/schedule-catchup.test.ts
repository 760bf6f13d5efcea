import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalScheduler } from '../src/scheduler.js';
import { createLogger } from '../src/log.js';
import type { JobRequest } from '../src/jobs/runner.js';
import type { ScheduleSetFrame } from '../src/wire.js';
import { scheduleStore } from '../src/state/schedule-store.js';
import { newSecretsKey } from '../src/index.js';

let dir = '';
const made: LocalScheduler[] = [];
afterEach(() => {
  for (const s of made.splice(0)) s.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const HOUR = 3600_000;
const KEY = newSecretsKey();
const set = (cron: string, kind: 'backup' | 'forget' = 'backup'): ScheduleSetFrame => ({
  type: 'schedule.set' as const, schedule_version: 4,
  schedules: [{ id: 's1', kind, cron_expr: cron, enabled: true, paths: ['/nonexistent/rm-test-source'], excludes: [], tags: [], retention_policy: kind === 'forget' ? { keep_last: 1 } : null, options: {}, pre_hook: null, post_hook: null, run_as: null }],
});

/** A scheduler on a temp state dir whose clock reads `clock.now`. */
function make(clock: { now: number }, busy = () => false) {
  const jobs: JobRequest[] = [];
  const log = createLogger({ write: () => undefined });
  const s = new LocalScheduler({
    store: scheduleStore(path.join(dir, 'schedules.enc'), path.join(dir, 'schedules.json'), KEY, log), runsFile: path.join(dir, 'schedule-runs.json'),
    submit: (j) => jobs.push(j), busy: () => busy(), log, now: () => clock.now, wakeCheckMs: 0,
  });
  made.push(s);
  return { s, jobs };
}

describe('missed schedule runs (agent catch-up)', () => {
  it('fires once when several fire times passed while the agent was stopped, then not again', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-catchup-'));
    const clock = { now: Date.now() };
    const a = make(clock);
    a.s.apply(set('0 */5 * * * *')); // every 5 minutes
    expect(a.jobs).toHaveLength(0);
    a.s.stop();
    clock.now += 3 * HOUR; // 36 fire times missed while "stopped"
    const b = make(clock);
    b.s.loadPersisted();
    expect(b.jobs.map((j) => [j.kind, j.scheduleId])).toEqual([['backup', 's1']]);
    expect(b.s.catchUp()).toEqual([]);
    expect(b.jobs).toHaveLength(1);
  });

  it('does not catch up a schedule that is not due yet, nor after its cron changed', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-catchup-'));
    const clock = { now: Date.parse('2026-01-01T10:00:00Z') };
    const a = make(clock);
    a.s.apply(set('0 0 3 * * *')); // 03:00 daily
    clock.now += HOUR;
    expect(a.s.catchUp()).toEqual([]);
    clock.now += 20 * HOUR; // past 03:00 the next day
    a.s.apply(set('0 0 4 * * *')); // edited: counting restarts from now
    expect(a.jobs).toHaveLength(0);
  });

  it('skips a missed run while the previous job of the schedule is still busy', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-catchup-'));
    const clock = { now: Date.now() };
    const a = make(clock, () => true);
    a.s.apply(set('0 */5 * * * *'));
    clock.now += HOUR;
    expect(a.s.catchUp()).toEqual([]);
    expect(a.jobs).toHaveLength(0);
  });

  it('never fires forget/prune locally: the server fires them with the maintenance credential', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-catchup-'));
    const clock = { now: Date.now() };
    const a = make(clock);
    a.s.apply(set('* * * * * *', 'forget'));
    clock.now += HOUR;
    expect(a.s.catchUp()).toEqual([]);
    expect(a.s.nextRuns()).toEqual([]);
    expect(a.jobs).toHaveLength(0);
  });
});
