import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdeathsigSetpriv } from '@restic-manager/engines';
import { environOf, processInfo, processes, requireTool } from '@restic-manager/testkit';
import type { ProcEntry } from '@restic-manager/testkit';
import { eventually, startStack } from './agent-harness.js';
import type { Stack } from './agent-harness.js';

/*
 * Issue 22, "orphaned restic" (docs/reliability.md): the agent killed -9 outside systemd while a
 * backup runs must not leave its restic running and holding the repository lock. The real agent
 * process runs a real restic backup (rate-limited, so it would upload for half a minute); the
 * agent is killed -9 mid-upload; within a bounded wait no process with this repository in its
 * environment may still be running. Then the agent comes back: the lost job is reported, the
 * next backup succeeds and a check (restic's exclusive lock) succeeds after the agent removed the
 * killed restic's stale lock by restic's own rule.
 *
 * A restic that writes to its stdout dies of SIGPIPE at its next line once the agent's end of the
 * pipe is gone; one that writes nothing for a while (check, prune, a 0.14 restore, the end of a
 * big backup) keeps running — the orphan the harness met. The agent's `restic` here is a wrapper
 * that sets RESTIC_PROGRESS_FPS=0.02 (one status line per 50 s) and execs the real one, so this
 * backup is such a quiet one and the test does not depend on when restic would next print.
 */

const missing = ['restic', 'rclone', 'htpasswd'].filter((t) => !requireTool(t).ok);
if (missing.length) console.warn(`skipping orphaned-restic e2e: missing ${missing.join(', ')}`);
const noSetpriv = pdeathsigSetpriv() === null;
if (noSetpriv) console.warn('skipping orphaned-restic e2e: no setpriv with --pdeathsig (util-linux) on this host');

/** Every process whose environment names the repository (`RESTIC_REPOSITORY=…<marker>…`). */
function withRepository(marker: string): ProcEntry[] {
  return processes().filter((p) => environOf(p.pid).some((v) => v.startsWith('RESTIC_REPOSITORY=') && v.includes(marker)));
}

const shown = (ps: ProcEntry[]): string => ps.map((p) => `pid ${p.pid} (${p.state}, parent ${p.ppid}): ${p.argv.slice(0, 4).join(' ')}`).join('; ');

describe.skipIf(missing.length > 0 || noSetpriv)('orphaned restic after kill -9 of the agent (issue 22)', () => {
  let s: Stack;
  let src: string;
  let marker: string;
  let bin: string;
  beforeAll(async () => {
    const restic = requireTool('restic');
    if (!restic.ok) throw new Error(restic.reason);
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-orphan-bin-'));
    fs.writeFileSync(path.join(bin, 'restic'), `#!/bin/sh\nexport RESTIC_PROGRESS_FPS=0.02\nexec '${restic.path}' "$@"\n`, { mode: 0o755 });
    s = await startStack({ agentEnv: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` } });
    src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(src);
    // 32 MiB that does not compress or deduplicate: at 1 MiB/s the backup would upload for ~30 s.
    fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(32 * 1024 * 1024));
    marker = `${new URL(s.rest.url).host}/h1/`;
  });
  afterAll(async () => {
    // Whatever the outcome, leave no restic of this test behind.
    for (const p of withRepository(marker ?? '\0')) if (p.state !== 'Z') process.kill(p.pid, 'SIGKILL');
    await s?.close();
    if (bin) fs.rmSync(bin, { recursive: true, force: true });
  });

  it('no restic of the job survives the agent; after restart the next backup succeeds and check is clean', async () => {
    const repoDir = path.join(s.rest.dataDir, 'h1');
    const packs = (): number => fs.readdirSync(path.join(repoDir, 'data'), { recursive: true }).filter((f) => /[0-9a-f]{64}$/.test(String(f))).length;
    const packsBefore = packs();
    const id = await s.runJob('backup', { paths: [src], limit_upload_kbps: 1024 });
    const agentPid = s.agent!.proc.pid!;
    const backup = await eventually(async () => {
      const r = withRepository(marker).filter((p) => p.ppid === agentPid && /(^|\/)restic$/.test(p.argv[0] ?? '') && p.argv.includes('backup'));
      return r.length ? r : null;
    }, 30_000, 'the agent\'s restic backup process');
    // Mid-upload: a first pack of the 32 MiB has arrived (about 4 s in), the rest is on its way.
    await eventually(async () => packs() > packsBefore, 30_000, 'the backup to upload its first pack');
    // The agent's job.started may still be on its way to a busy server (the store applies it).
    await eventually(async () => (await s.api.req('GET', `/api/jobs/${id}`)).body.status === 'running', 30_000, 'the job to show running');
    const locksDir = path.join(repoDir, 'locks');
    const locksBefore = fs.readdirSync(locksDir);
    expect(locksBefore.length, 'the running backup holds a lock').toBeGreaterThan(0);

    await s.stopAgent('SIGKILL');

    // Bounded: every process of this repository is dead (gone, or a zombie waiting to be reaped).
    await eventually(async () => {
      const running = withRepository(marker).filter((p) => p.state !== 'Z');
      if (running.length) throw new Error(`still running after the agent was killed: ${shown(running)}`);
      return true;
    }, 10_000, 'no restic of the killed agent to be running');
    // restic's stale-lock rule (same host, PID gone) uses kill(pid, 0), which a zombie still
    // passes; init reaps an orphan at once on most hosts, every second or so on some VMs.
    await eventually(async () => backup.every((b) => processInfo(b.pid)?.start !== b.start), 30_000, 'init to reap the killed restic');

    await s.startAgent();
    const lost = await s.waitJob(id, ['succeeded', 'failed', 'cancelled'], 30_000);
    expect(lost.status).toBe('failed');
    expect(lost.error_kind).toBe('agent_lost');

    const next = await s.waitJob(await s.runJob('backup', { paths: [src] }), undefined, 120_000);
    expect(next.status, JSON.stringify(next)).toBe('succeeded');

    // check takes restic's exclusive lock: the killed backup's lock is in the way until the
    // agent's `restic unlock` removes it as stale; a live holder would fail the job lock_failed.
    const checkId = await s.runJob('check');
    const check = await s.waitJob(checkId, undefined, 120_000);
    expect(check.status, JSON.stringify(check)).toBe('succeeded');
    const log = (await s.logs(checkId)).map((l) => l.payload).join('\n');
    expect(log).toContain('removing stale locks (restic unlock) and retrying once');
    expect(log).not.toContain('the lock is held by a live process');
    for (const stale of locksBefore) expect(fs.existsSync(path.join(locksDir, stale)), `stale lock ${stale} removed`).toBe(false);
  });
});
