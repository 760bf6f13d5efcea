import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from './local-stack.js';
import { LOCAL_REPO_PASSWORD, eventually, localStackTools, startLocalStack } from './local-stack.js';

/*
 * A job blocked by a real restic lock (issue 4 "a held lock is reported as such, never
 * auto-removed unless restic considers it stale"; issue 6 "a job that failed with lock_failed
 * says which lock blocked it"). A live `restic check` holds the exclusive lock (it reads data at
 * 1 KiB/s, so it stays); the agent's backup fails with lock_failed naming holder, PID, host and
 * age; the agent's `restic unlock` leaves the live lock alone. Once the holder is killed -9 its
 * lock is stale by restic's rules (same host, PID gone) and the next backup removes it and runs.
 */

if (localStackTools.length) console.warn(`skipping lock_failed e2e: missing ${localStackTools.join(', ')}`);

describe.skipIf(localStackTools.length > 0)('lock_failed through the server with a real restic lock', { timeout: 120_000 }, () => {
  let s: LocalStack;
  let src: string;
  let holder: ChildProcess | null = null;
  const lockFiles = (): string[] => fs.readdirSync(path.join(s.repoDir, 'locks'));

  beforeAll(async () => {
    s = await startLocalStack();
    src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(src);
    // incompressible, so `check --read-data` at 1 KiB/s takes minutes
    fs.writeFileSync(path.join(src, 'data.bin'), Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 2654435761) >>> 24)));
    const first = await s.waitJob(await s.runJob('backup', { paths: [src] }));
    expect(first.status).toBe('succeeded');
  });

  afterAll(async () => {
    if (holder && holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    await s?.close();
  });

  /**
   * Starts `restic check` and resolves once it holds its lock. The agent's own short jobs after
   * the first backup (snapshots, stats) take shared locks that make check give up, so: wait for a
   * quiet repository, and start again if check exits before its lock is seen.
   */
  async function holdLock(): Promise<{ proc: ChildProcess; lock: string }> {
    for (let attempt = 1; ; attempt++) {
      await quietRepository();
      let output = '';
      const proc = spawn('restic', ['-r', s.repoDir, '--no-cache', 'check', '--read-data', '--limit-download', '1'], {
        env: { ...process.env, RESTIC_PASSWORD: LOCAL_REPO_PASSWORD },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      for (const out of [proc.stdout!, proc.stderr!]) out.on('data', (d: Buffer) => (output += d.toString()));
      const lock = await eventually(async () => (proc.exitCode !== null ? 'exited' : output.includes('load indexes') ? lockFiles()[0] : null), 20_000, 'restic check to take its lock');
      if (lock !== 'exited' && proc.exitCode === null) return { proc, lock };
      if (attempt === 8) throw new Error(`restic check did not hold the lock: ${output}`);
    }
  }

  /** No lock files, and the agent has started no restic command for 2 s (its post-backup snapshots/stats are done). */
  async function quietRepository(): Promise<void> {
    let seen = -1;
    let since = Date.now();
    await eventually(async () => {
      const n = s.argv().length;
      if (n !== seen || lockFiles().length > 0) {
        seen = n;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= 2000;
    }, 30_000, 'a quiet repository (no locks, no agent restic command for 2 s)');
  }

  it('fails the job with lock_failed naming the live holder, and leaves its lock in place', async () => {
    const { proc, lock } = await holdLock();
    holder = proc;

    const jobId = await s.runJob('backup', { paths: [src] });
    const job = await s.waitJob(jobId);
    expect(job.status).toBe('failed');
    expect(job.error_kind).toBe('lock_failed');
    expect(job.error).toMatch(new RegExp(`^repository is locked exclusively by PID ${String(holder.pid)} on ${os.hostname()} by \\S+ \\(UID \\d+, GID \\d+\\), created [-\\d]+ [:\\d]+ \\([\\d.]+(?:ms|s|m[\\d.]+s|h[\\dm.]+s)? ago\\), lock ${lock.slice(0, 8)}$`));

    // the agent tried restic's own stale-lock removal, which kept the live lock
    const argv = s.argv();
    const unlocks = argv.filter((l) => / unlock( |$)/.test(l));
    expect(unlocks.length).toBeGreaterThanOrEqual(1);
    expect(argv.join('\n')).not.toContain('--remove-all');
    expect(lockFiles()).toEqual([lock]);
    expect(holder.exitCode).toBeNull();
    const log = (await s.api.req('GET', `/api/jobs/${jobId}/logs?limit=5000`)).body.items.map((l: { payload: string }) => l.payload).join('\n');
    expect(log).toContain('the lock is held by a live process; it was left in place');

    // the job page shows the same text; the locks the agent reported name the holder
    const page = await fetch(`${s.server.url}/jobs/${jobId}`, { headers: { cookie: `rm_session=${s.api.cookie}` } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('lock_failed');
    expect(html).toContain(`PID ${String(holder.pid)} on ${os.hostname()}`);
    const locks = await eventually(async () => {
      const r = await s.api.req('GET', `/api/hosts/${s.hostId}/locks`);
      return r.body.items?.length ? r.body.items : null;
    }, 10_000, 'locks reported');
    expect(locks[0]).toMatchObject({ pid: holder.pid, host: os.hostname(), exclusive: true, stale: false });
  });

  it('removes the lock once restic considers it stale (holder killed -9) and the next backup succeeds', async () => {
    const h = holder!;
    expect(h.exitCode).toBeNull();
    const gone = new Promise((r) => h.once('exit', r));
    h.kill('SIGKILL');
    await gone;
    const stale = lockFiles();
    expect(stale).toHaveLength(1); // killed -9: restic had no chance to remove it
    const jobId = await s.runJob('backup', { paths: [src] });
    const job = await s.waitJob(jobId);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(lockFiles()).not.toContain(stale[0]);
    // the product's own follow-up runs after a backup (snapshots, stats) may hold a lock a moment longer
    await eventually(async () => lockFiles().length === 0, 30_000, 'no lock left in the repository');
    const log = (await s.api.req('GET', `/api/jobs/${jobId}/logs?limit=5000`)).body.items.map((l: { payload: string }) => l.payload).join('\n');
    expect(log).toContain('removing stale locks (restic unlock) and retrying once');
  });
});
