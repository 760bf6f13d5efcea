import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalScheduler } from '../src/scheduler.js';
import { createLogger } from '../src/log.js';
import type { JobRequest } from '../src/jobs/runner.js';
import type { ScheduleSetFrame } from '../src/wire.js';
import { parseScheduleSet, parseServerFrame } from '../src/wire.js';
import { scheduleStore } from '../src/state/schedule-store.js';
import { newSecretsKey } from '../src/index.js';

/*
 * Issue 21: a schedule fired outside its backup window waits for the window (reported queued with
 * the start time), starts when it opens carrying the window's stop time, survives an agent
 * restart with the same job, and can be cancelled while it waits. The clock is injected.
 */
let dir = '';
const made: LocalScheduler[] = [];
afterEach(() => {
  for (const s of made.splice(0)) s.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const KEY = newSecretsKey();
const nights = { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[], start: '22:00', end: '06:00', at_end: 'stop' as const }], blackouts: [], source: 'schedule' };
const set = (version = 1, windows: unknown[] = [nights]): ScheduleSetFrame => {
  const parsed = parseScheduleSet({
    type: 'schedule.set', schedule_version: version,
    schedules: [{ id: 's1', kind: 'backup', cron_expr: '0 0 3 * * *', time_zone: 'UTC', enabled: true, paths: ['/nonexistent/rm-test'], excludes: [], tags: [], retention_policy: null, options: {}, pre_hook: null, post_hook: null, run_as: null, windows }],
  });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
};

function make(clock: { now: number }) {
  const jobs: JobRequest[] = [];
  const frames: Record<string, unknown>[] = [];
  const log = createLogger({ write: () => undefined });
  const s = new LocalScheduler({
    store: scheduleStore(path.join(dir, 'schedules.enc'), path.join(dir, 'schedules.json'), KEY, log), runsFile: path.join(dir, 'schedule-runs.json'),
    submit: (j) => jobs.push(j), busy: () => false, log, now: () => clock.now, wakeCheckMs: 0, emit: (f) => frames.push(f as Record<string, unknown>),
  });
  made.push(s);
  return { s, jobs, frames };
}

describe('backup windows in the agent scheduler', () => {
  it('takes the window maths from the protocol\'s zod-free windows entry, which imports nothing', () => {
    const src = fs.readFileSync(fileURLToPath(new URL('../../protocol/src/windows.ts', import.meta.url)), 'utf8');
    expect(src).not.toMatch(/^\s*import\s/m);
  });

  it('a fire outside the window waits (queued, with its start time) and fires at the opening with the stop time', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-windows-'));
    const clock = { now: Date.parse('2026-12-02T01:00:00Z') }; // a Wednesday
    const a = make(clock);
    a.s.apply(set());
    a.s.stop();
    clock.now = Date.parse('2026-12-02T11:00:00Z'); // 03:00 passed: the catch-up fires, outside the window
    const b = make(clock);
    b.s.loadPersisted();
    expect(b.jobs).toHaveLength(0);
    const queued = b.frames.find((f) => f.type === 'job.queued')!;
    expect(queued).toMatchObject({ seq: 0, kind: 'backup', schedule_id: 's1', reason: 'waiting for its backup window; starts at 2026-12-02T22:00:00.000Z' });
    expect(b.frames.find((f) => f.type === 'log.stream')).toMatchObject({ seq: 1, stream: 'event' });
    // A second fire while it waits is skipped, not queued twice.
    expect(b.s.catchUp()).toEqual([]);
    clock.now = Date.parse('2026-12-02T21:59:00Z');
    expect(b.s.waits.release()).toEqual([]);
    expect(b.jobs).toHaveLength(0);
    clock.now = Date.parse('2026-12-02T22:00:00Z');
    expect(b.s.waits.release()).toEqual([queued.job_id]);
    expect(b.jobs).toEqual([expect.objectContaining({ jobId: queued.job_id, kind: 'backup', scheduleId: 's1', firstSeq: 2, stopAt: Date.parse('2026-12-03T06:00:00Z') })]);
  });

  it('inside the window it fires at once; a restart keeps the waiting job; a cancel ends it', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-windows-'));
    const clock = { now: Date.parse('2026-12-02T01:00:00Z') };
    const a = make(clock);
    a.s.apply(set(1, [{ ...nights, windows: [{ ...nights.windows[0], start: '02:00', end: '04:00' }] }]));
    a.s.stop();
    clock.now = Date.parse('2026-12-02T03:30:00Z'); // inside 02:00-04:00
    const b = make(clock);
    b.s.loadPersisted();
    expect(b.jobs).toEqual([expect.objectContaining({ stopAt: Date.parse('2026-12-02T04:00:00Z') })]);
    expect(b.jobs[0]).not.toHaveProperty('firstSeq');
    b.s.stop();

    // Next day, past the window: it waits; the agent restarts; the same job is still waiting.
    b.s.apply(set(2));
    clock.now = Date.parse('2026-12-04T11:00:00Z');
    const c = make(clock);
    c.s.loadPersisted();
    const jobId = c.frames.find((f) => f.type === 'job.queued')!.job_id as string;
    c.s.stop();
    const d = make(clock);
    d.s.loadPersisted();
    expect(d.frames).toEqual([]);
    expect(d.s.waits.jobIds()).toEqual([jobId]);
    expect(d.s.waits.cancel(jobId)).toBe(true);
    expect(d.frames).toEqual([expect.objectContaining({ type: 'job.finished', job_id: jobId, status: 'cancelled', error: 'cancelled while it waited for its backup window' })]);
    clock.now = Date.parse('2026-12-04T22:00:00Z');
    expect(d.s.waits.release()).toEqual([]);
  });

  it('a schedule whose windows never open together reports its run failed, naming the sources', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-windows-'));
    const clock = { now: Date.parse('2026-12-02T01:00:00Z') };
    const a = make(clock);
    const weekend = { windows: [{ days: ['sat'], start: '10:00', end: '12:00', at_end: 'finish' }], blackouts: [], source: 'tag:prod' };
    a.s.apply(set(1, [nights, weekend]));
    a.s.stop();
    clock.now = Date.parse('2026-12-02T11:00:00Z');
    const b = make(clock);
    b.s.loadPersisted();
    expect(b.jobs).toHaveLength(0);
    expect(b.frames.find((f) => f.type === 'job.finished')).toMatchObject({ status: 'failed', error: expect.stringContaining('never open together (schedule, tag:prod)') });
  });

  it('a waiting run whose windows stop opening together (a new set) is reported failed, not held forever', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-windows-'));
    const clock = { now: Date.parse('2026-12-02T01:00:00Z') };
    const a = make(clock);
    a.s.apply(set(1));
    a.s.stop();
    clock.now = Date.parse('2026-12-02T11:00:00Z');
    const b = make(clock);
    b.s.loadPersisted();
    const jobId = b.frames.find((f) => f.type === 'job.queued')!.job_id;
    const weekend = { windows: [{ days: ['sat'], start: '10:00', end: '12:00', at_end: 'finish' }], blackouts: [], source: 'tag:prod' };
    b.s.apply(set(2, [nights, weekend]));
    expect(b.s.waits.jobIds()).toEqual([]);
    expect(b.frames.find((f) => f.type === 'job.finished')).toMatchObject({ job_id: jobId, seq: 2, status: 'failed' });
  });
});

describe('the stop end of a window in the runner', () => {
  it('a stop time already past aborts at once; the outcome says the window stopped it (a success stays a success)', async () => {
    const { WindowStop } = await import('../src/jobs/window-stop.js');
    const abort = new AbortController();
    const w = new WindowStop(Date.now() - 1, abort);
    expect(abort.signal.aborted).toBe(true);
    expect(w.outcome({ status: 'cancelled', exitCode: 130, stats: null, error: 'cancelled', errorKind: 'cancelled' })).toEqual({ status: 'cancelled', exitCode: 130, stats: null, error: 'stopped at the end of its backup window', errorKind: 'cancelled' });
    expect(w.outcome({ status: 'succeeded', exitCode: 0, stats: null, error: null, errorKind: null }).status).toBe('succeeded');
    const later = new AbortController();
    const l = new WindowStop(Date.now() + 60_000, later);
    expect(later.signal.aborted).toBe(false);
    l.dispose();
    // command.run.stop_at (server-fired schedules) is read by the light wire parser; a bad one is refused naming it.
    const run = parseServerFrame(JSON.stringify({ type: 'command.run', job_id: 'j1', kind: 'prune', args: {}, stop_at: '2026-12-03T06:00:00.000Z' }));
    expect(run).toMatchObject({ ok: true, value: { stop_at: '2026-12-03T06:00:00.000Z' } });
    expect(parseServerFrame(JSON.stringify({ type: 'command.run', job_id: 'j1', kind: 'prune', args: {}, stop_at: 'soon' }))).toMatchObject({ ok: false, message: expect.stringContaining('stop_at') });
    expect(new WindowStop(undefined, later).outcome({ status: 'failed', exitCode: 1, stats: null, error: 'x', errorKind: 'failed' }).error).toBe('x');
  });
});
