import { describe, expect, it } from 'vitest';
import type { JobRunner } from '@restic-manager/agent';
import type { Engine, RepoLock, Result } from '@restic-manager/engines';
import { until } from './helpers/fixture.js';
import { runnerBench } from './helpers/runner-bench.js';
import type { Frame } from './helpers/runner-bench.js';
import { scriptEngine } from './helpers/script-engine.js';

/*
 * Issue 22: the lock view must not say "unlocked" while stale locks sit in the repository.
 * The runner lists the locks after every job (a backup included) and, once a job has run, again
 * every `lockRefreshMs` while idle; a failed listing sends no lock state at all.
 */

const STALE: RepoLock = { id: 'c'.repeat(64), time: new Date().toISOString(), host: 'h1', username: 'root', pid: 4242, exclusive: false, stale: true };

const bench = runnerBench('rm-lock-listing-', { repository: '/srv/repo-h1', password: 'pw-lock-listing' });

/** A runner over a script engine whose `locks()` answers from `listing` (called once per listing). */
async function start(listing: () => Result<RepoLock[]>, lockRefreshMs = 0): Promise<{ runner: JobRunner; frames: Frame[]; calls: () => number }> {
  let calls = 0;
  const engine: Engine = { ...scriptEngine({ script: 'echo ok' }), locks: () => Promise.resolve((calls++, listing())) };
  const { runner, frames } = await bench(engine, lockRefreshMs);
  return { runner, frames, calls: () => calls };
}

const stats = (frames: Frame[], job?: string): Frame[] => frames.filter((f) => f.type === 'repo.stats' && f.job_id === job);

describe('lock listing', () => {
  it('a backup lists the locks: a stale lock left by a killed process is reported with its holder', async () => {
    const { runner, frames } = await start(() => ({ ok: true, value: [STALE] }));
    runner.submit({ jobId: 'b1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => stats(frames, 'b1').length > 0, 10_000, 'repo.stats after the backup');
    expect(stats(frames, 'b1')[0]).toMatchObject({ size_bytes: 1234, lock_state: 'locked', locks: [{ id: STALE.id, username: 'root', host: 'h1', pid: 4242, stale: true }] });
  });

  it('after an init the repository has no locks: the empty list is sent without running restic (the next job is not delayed)', async () => {
    const { runner, frames, calls } = await start(() => ({ ok: true, value: [STALE] }));
    runner.submit({ jobId: 'i1', kind: 'init', args: {} });
    await until(() => stats(frames, 'i1').length > 0, 10_000, 'repo.stats after the init');
    expect(stats(frames, 'i1')[0]).toMatchObject({ lock_state: 'unlocked', locks: [] });
    expect(calls()).toBe(0);
  });

  it('a listing that fails sends no lock state (never "unlocked" without having looked)', async () => {
    const { runner, frames } = await start(() => ({ ok: false, error: { kind: 'failed', command: 'list locks', exitCode: 1, message: 'boom', stderrTail: [] } }));
    runner.submit({ jobId: 'b2', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => stats(frames, 'b2').length > 0, 10_000, 'repo.stats after the backup');
    const f = stats(frames, 'b2')[0]!;
    expect(f.size_bytes).toBe(1234);
    expect('lock_state' in f).toBe(false);
    expect('locks' in f).toBe(false);
  });

  it('after a job, lists the locks again while idle and sends them without a job (the periodic path)', async () => {
    let n = 0;
    const { runner, frames, calls } = await start(() => ({ ok: true, value: n++ === 0 ? [] : [STALE] }), 50);
    runner.submit({ jobId: 'u1', kind: 'unlock', args: {} });
    await until(() => stats(frames, 'u1').length > 0, 10_000, 'repo.stats after the unlock');
    expect(stats(frames, 'u1')[0]).toMatchObject({ lock_state: 'unlocked', locks: [] });
    await until(() => stats(frames).length >= 2, 10_000, 'two periodic listings');
    expect(stats(frames)[0]).toMatchObject({ size_bytes: null, snapshot_count: null, lock_state: 'locked', locks: [{ id: STALE.id, stale: true }] });
    expect(calls()).toBeGreaterThanOrEqual(3);
  });
});
