import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allCmdlines, requireTool } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import type { FakeServer } from './helpers/fake-server.js';
import type { Frame } from './helpers/fake-server.js';
import { useResticAgent } from './helpers/restic-agent.js';
import type { Fixture } from './helpers/fixture.js';

const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping real-restic agent tests: ${restic.reason}`);

const PASSWORD = 'agent-real-restic-pw-5f1c9a';

describe.skipIf(!restic.ok)('agent with real restic (local repository)', () => {
  const agent = useResticAgent('rm-agent-restic-', PASSWORD, { files: 60, totalBytes: 12 * 1024 * 1024, seed: 'agent' });
  let server: FakeServer;
  let fx: Fixture;
  let tmp: TempDir;
  let src: string;
  const of = (job: string, type: string) => (f: Frame): boolean => f.job_id === job && f.type === type;
  beforeAll(() => {
    ({ server, fx, tmp, src } = agent());
  });

  it('backs up, reports the real snapshot and stats, and never exposes the password', async () => {
    server.send({ type: 'command.run', job_id: 'b1', kind: 'backup', args: { paths: [src], tags: ['t1'], limit_upload_kbps: 8192 } });
    let cmdlines = '';
    const sampler = setInterval(() => (cmdlines += allCmdlines()), 50);
    const fin = await server.waitFor(of('b1', 'job.finished'), 60_000);
    clearInterval(sampler);
    expect(fin).toMatchObject({ status: 'succeeded', exit_code: 0, error: null });
    const snapId = (fin.stats as { snapshotId: string }).snapshotId;
    expect(snapId).toMatch(/^[0-9a-f]{8,64}$/);
    const report = await server.waitFor(of('b1', 'snapshots.report'));
    const snaps = report.snapshots as { id: string; tags: string[] }[];
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.id.startsWith(snapId)).toBe(true);
    expect(snaps[0]!.tags).toEqual(['t1']);
    const stats = await server.waitFor(of('b1', 'repo.stats'));
    expect(stats.snapshot_count).toBe(1);
    expect(stats.size_bytes as number).toBeGreaterThan(1024 * 1024);
    expect(cmdlines).toContain('backup');
    expect(cmdlines).not.toContain(PASSWORD);
    expect(JSON.stringify(server.frames)).not.toContain(PASSWORD);
    expect(fx.logs.join('')).not.toContain(PASSWORD);
  });

  it('cancel mid-backup -> cancelled, and the repository still checks clean', async () => {
    fs.writeFileSync(path.join(src, 'fresh.bin'), randomBytes(24 * 1024 * 1024));
    server.send({ type: 'command.run', job_id: 'c1', kind: 'backup', args: { paths: [src], limit_upload_kbps: 1024 } });
    await server.waitFor(of('c1', 'job.started'));
    // Cancel once restic reports data moving, so it is stopped mid-upload.
    await server.waitFor((f) => f.type === 'job.progress' && f.job_id === 'c1' && Number(f.bytes_done) > 0, 30_000);
    server.send({ type: 'command.cancel', job_id: 'c1' });
    expect(await server.waitFor(of('c1', 'job.finished'), 30_000)).toMatchObject({ status: 'cancelled', error_kind: 'cancelled' });
    server.send({ type: 'command.run', job_id: 'k1', kind: 'check', args: {} });
    expect(await server.waitFor(of('k1', 'job.finished'), 60_000)).toMatchObject({ status: 'succeeded' });
  });

  /** A live `restic backup --stdin` holds a (non-exclusive) lock for as long as its stdin is open. */
  function holdLock(): { child: ReturnType<typeof spawn>; locked: Promise<void> } {
    const child = spawn('restic', ['backup', '--stdin', '--stdin-filename', 'held.txt'], {
      env: { ...process.env, RESTIC_REPOSITORY: path.join(tmp.path, 'repo'), RESTIC_PASSWORD: PASSWORD },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin!.write('holding a lock\n');
    const locks = path.join(tmp.path, 'repo', 'locks');
    // Written: restic's local backend creates the file, writes and syncs it, then makes it
    // read-only. A holder killed before that leaves an empty lock file, which restic 0.14 ignores
    // (it happened on a loaded CI machine: the key removal then never met the lock).
    const written = (): boolean => fs.readdirSync(locks).some((f) => {
      const st = fs.statSync(path.join(locks, f));
      return st.size > 0 && (st.mode & 0o222) === 0;
    });
    const locked = (async () => {
      for (let i = 0; i < 400 && !written(); i++) await new Promise((r) => setTimeout(r, 50));
      if (!written()) throw new Error('restic did not take its lock');
    })();
    return { child, locked };
  }

  it('a lock held by a live process is reported and left in place; a stale one is removed', async () => {
    const live = holdLock();
    await live.locked;
    server.send({ type: 'command.run', job_id: 'l1', kind: 'check', args: {} });
    const fin = await server.waitFor(of('l1', 'job.finished'), 60_000);
    expect(fin).toMatchObject({ status: 'failed', error_kind: 'lock_failed' });
    expect(String(fin.error)).toMatch(/locked/);
    expect(await server.waitFor(of('l1', 'repo.stats'))).toMatchObject({ lock_state: 'locked' });
    expect(server.frames.some((f) => f.job_id === 'l1' && String(f.payload).includes('left in place'))).toBe(true);
    expect(fs.readdirSync(path.join(tmp.path, 'repo', 'locks')).length).toBe(1);

    // Killed holder: same host, dead PID -> restic considers the lock stale; the agent clears it.
    live.child.kill('SIGKILL');
    await new Promise((r) => live.child.once('exit', r));
    server.send({ type: 'command.run', job_id: 'l2', kind: 'check', args: {} });
    expect(await server.waitFor(of('l2', 'job.finished'), 60_000)).toMatchObject({ status: 'succeeded' });
    expect(server.frames.some((f) => f.job_id === 'l2' && String(f.payload).includes('removing stale locks'))).toBe(true);
  });

  it("a temporary key is removed although a process killed -9 left its lock behind (restic 0.14's key remove needs an exclusive lock)", async () => {
    const result = (id: string) => (f: Frame): boolean => f.type === 'repo.key.result' && f.request_id === id;
    await server.waitFor(of('l2', 'repo.stats'), 60_000); // the last job's follow-ups hold no lock any more
    server.send({ type: 'repo.key.add', request_id: 'ka-1', job_id: 'xj1', password: 'a-temporary-restore-password-77' });
    const added = await server.waitFor(result('ka-1'), 60_000);
    expect(added).toMatchObject({ error: null, key_id: expect.stringMatching(/^[0-9a-f]{8,64}$/) });
    const held = holdLock();
    await held.locked;
    held.child.kill('SIGKILL');
    await new Promise((r) => held.child.once('exit', r));
    expect(fs.readdirSync(path.join(tmp.path, 'repo', 'locks'))).toHaveLength(1);
    server.send({ type: 'repo.key.remove', request_id: 'kr-1', job_id: 'xj1', key_id: added.key_id as string });
    expect(await server.waitFor(result('kr-1'), 60_000)).toMatchObject({ error: null, key_id: added.key_id });
    expect(fx.logs.join('')).toContain('stale locks removed (restic unlock)');
    expect(fs.readdirSync(path.join(tmp.path, 'repo', 'locks'))).toEqual([]);
    expect(JSON.stringify(server.frames) + fx.logs.join('')).not.toContain('a-temporary-restore-password-77');
  });

  it('a wrong password is reported as wrong_password without echoing it', async () => {
    server.send({ type: 'command.run', job_id: 'w1', kind: 'snapshots', args: {}, credential: { repository: path.join(tmp.path, 'repo'), password: 'definitely-wrong-pw' } });
    const fin = await server.waitFor(of('w1', 'job.finished'), 30_000);
    expect(fin).toMatchObject({ status: 'failed', error_kind: 'wrong_password' });
    expect(JSON.stringify(server.frames)).not.toContain('definitely-wrong-pw');
  });
});
