import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';
import { diffTrees, environOf, hashTree, makeCorpus, processes, requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { parseServerFrame } from '../src/wire.js';
import { copyTargetSecrets } from '../src/jobs/copy-run.js';
import { FakeServer } from './helpers/fake-server.js';
import type { Frame } from './helpers/fake-server.js';
import { fixture } from './helpers/fixture.js';
import type { Fixture } from './helpers/fixture.js';

const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping real-restic copy job tests: ${restic.reason}`);

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const PW_SRC = 'copy-job-source-pw-6a0d2e';
const PW_DST = 'copy-job-target-pw-93c1f7';

/** Every process's argv (a password must never be there), and the pids of `restic copy` children writing to `repo`. */
function scan(repo: string): { cmdlines: string; pids: number[] } {
  const all = processes();
  const pids = all.filter((p) => /(^|\/)restic$/.test(p.argv[0] ?? '') && p.argv.includes('copy') && environOf(p.pid).includes(`RESTIC_REPOSITORY=${repo}`)).map((p) => p.pid);
  return { cmdlines: all.map((p) => `${p.cmdline}\n`).join(''), pids };
}

describe('copy job frames', () => {
  const t: RepositoryConfig = { id: 'r2', name: 'offsite', engine: 'restic', url: 'rest:http://127.0.0.1:8000/h1/', password: 'target-pw-12345', credentials: { backend: 'rest', username: 'h1', password: 'rest-pw-67890' } };

  it('the light validator passes command.run.copy_target through to the job', () => {
    expect(parseServerFrame(JSON.stringify({ type: 'command.run', job_id: 'j1', kind: 'copy', args: { target_repository_id: 'r2' }, copy_target: t }))).toEqual({
      ok: true, value: { type: 'command.run', job_id: 'j1', kind: 'copy', args: { target_repository_id: 'r2' }, copy_target: t },
    });
    expect(parseServerFrame(JSON.stringify({ type: 'command.run', job_id: 'j1', kind: 'copy', args: {}, copy_target: 'x' }))).toMatchObject({ ok: false });
  });

  it('the target\'s password and backend secrets are redacted from the job log, its user name is not', () => {
    expect(copyTargetSecrets(t).sort()).toEqual(['rest-pw-67890', 'target-pw-12345']);
    expect(copyTargetSecrets({ password: 'only-a-password' })).toEqual(['only-a-password']);
  });
});

describe.skipIf(!restic.ok)('copy jobs (agent, real restic, local repositories)', () => {
  const engine = createEngine('restic');
  let server: FakeServer;
  let fx: Fixture;
  let tmp: TempDir;
  let src: string;
  let source: Connection;
  const of = (job: string, type: string) => (f: Frame): boolean => f.job_id === job && f.type === type;
  const target = (name: string): RepositoryConfig => ({ id: `repo-${name}`, name, engine: 'restic', url: path.join(tmp.path, name), password: PW_DST, credentials: { backend: 'local' } });
  const connOf = (t: RepositoryConfig): Connection => ({ repository: t.url, password: t.password });
  const value = <T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const trees = async (c: Connection): Promise<string[]> => value(await engine.snapshots(c)).map((s) => s.tree ?? '').sort();
  const checkClean = async (c: Connection): Promise<void> => expect(value(await engine.check(c)).errors).toEqual([]);
  const run = async (id: string, args: Record<string, unknown>, copyTarget?: RepositoryConfig, ms = 60_000): Promise<Frame> => {
    server.send({ type: 'command.run', job_id: id, kind: 'copy', args, ...(copyTarget ? { copy_target: copyTarget } : {}) });
    return server.waitFor(of(id, 'job.finished'), ms);
  };

  beforeAll(async () => {
    tmp = await tempDir('rm-agent-copy-');
    src = path.join(tmp.path, 'src');
    await makeCorpus(src, { files: 30, totalBytes: 4 * 1024 * 1024, seed: 'agent-copy' });
    source = { repository: path.join(tmp.path, 'A'), password: PW_SRC };
    value(await engine.init(source));
    value(await engine.backup(source, { paths: [src] }));
    value(await engine.backup(source, { paths: [src], tags: ['daily'] }));
    server = await FakeServer.start();
    fx = fixture(server.url());
    await fx.start(engine, { progressIntervalMs: 100 });
    await server.waitFor((f) => f.type === 'hello');
    server.send({ type: 'config.update', repository: source.repository, password: PW_SRC });
  }, 120_000);
  afterAll(async () => {
    await fx.cleanup();
    await server.close();
    await tmp.cleanup();
  });

  it('announces the copy feature', async () => {
    const hello = await server.waitFor((f) => f.type === 'hello');
    expect(hello.features).toContain('copy');
  });

  it('initialises the target, copies every snapshot with progress and log lines, and the copy restores byte for byte; no password anywhere', async () => {
    const B = target('B');
    let cmdlines = '';
    const sampler = setInterval(() => (cmdlines += scan(B.url).cmdlines), 20);
    const fin = await run('c1', { target_repository_id: B.id, init_target: true }, B);
    clearInterval(sampler);
    expect(fin).toMatchObject({ status: 'succeeded', error: null, stats: { copied: 2, skipped: 0, target_repository_id: B.id, target_initialised: true } });
    const progress = server.frames.filter(of('c1', 'job.progress'));
    expect(progress.at(-1)).toMatchObject({ percent_done: 1, files_done: 2, total_files: 2 });
    const log = server.frames.filter(of('c1', 'log.stream')).map((f) => String(f.payload));
    expect(log.filter((l) => /^snapshot [0-9a-f]+ saved$/.test(l))).toHaveLength(2);
    expect(cmdlines).toContain('copy');
    for (const pw of [PW_SRC, PW_DST]) {
      expect(cmdlines).not.toContain(pw);
      expect(JSON.stringify(server.frames)).not.toContain(pw);
      expect(fx.logs.join('')).not.toContain(pw);
    }
    expect(await trees(connOf(B))).toEqual(await trees(source));
    await checkClean(source);
    await checkClean(connOf(B));
    const snap = value(await engine.snapshots(connOf(B))).find((s) => s.tags.length === 0)!;
    const out = path.join(tmp.path, 'restored');
    value(await engine.restore(connOf(B), { snapshot: snap.id, target: out }));
    expect(diffTrees(await hashTree(src), await hashTree(path.join(out, src)))).toEqual([]);

    // Again: nothing new to copy; init_target on an existing target is not an error.
    expect(await run('c2', { target_repository_id: B.id, init_target: true }, B)).toMatchObject({ status: 'succeeded', stats: { copied: 0, skipped: 2 } });
  }, 120_000);

  it('copies only snapshots with the given tags', async () => {
    const C = target('C');
    expect(await run('t1', { target_repository_id: C.id, init_target: true, tags: ['daily'] }, C)).toMatchObject({ status: 'succeeded', stats: { copied: 1 } });
    expect(value(await engine.snapshots(connOf(C))).map((s) => s.tags)).toEqual([['daily']]);
  }, 60_000);

  it('fails clearly without copy_target, with a mismatched one, and onto its own repository', async () => {
    expect(await run('n1', { target_repository_id: 'repo-x' })).toMatchObject({ status: 'failed', error: expect.stringContaining('copy_target') as string });
    expect(await run('n2', { target_repository_id: 'repo-x' }, target('B'))).toMatchObject({ status: 'failed', error: expect.stringMatching(/copy_target\.id .*target_repository_id/) as string });
    const self: RepositoryConfig = { ...target('A'), password: PW_SRC };
    expect(await run('n3', { target_repository_id: self.id }, self)).toMatchObject({ status: 'failed', error: expect.stringContaining('same repository') as string });
    expect(await run('n4', { target_repository_id: 'r', bogus: 1 }, target('B'))).toMatchObject({ status: 'failed', error: expect.stringContaining('invalid copy arguments') as string });
  }, 60_000);

  it('a restic child killed mid-copy and a cancelled copy leave both repositories usable: unlock, check clean, copy again', async () => {
    const big = path.join(tmp.path, 'big');
    await makeCorpus(big, { files: 10, totalBytes: 12 * 1024 * 1024, seed: 'agent-copy-big' });
    value(await engine.backup(source, { paths: [big] }));
    for (const how of ['sigkill', 'cancel'] as const) {
      const T = target(`T-${how}`);
      value(await engine.initCopyTarget(connOf(T), source));
      const id = `k-${how}`;
      server.send({ type: 'command.run', job_id: id, kind: 'copy', args: { target_repository_id: T.id, limit_upload_kbps: 1024 }, copy_target: T });
      await server.waitFor((f) => f.type === 'job.progress' && f.job_id === id && Number(f.bytes_done) > 256 * 1024, 60_000);
      if (how === 'sigkill') {
        const [pid] = scan(T.url).pids;
        expect(pid).toBeGreaterThan(0);
        process.kill(pid!, 'SIGKILL');
      } else server.send({ type: 'command.cancel', job_id: id });
      const fin = await server.waitFor(of(id, 'job.finished'), 60_000);
      expect(fin.status).not.toBe('succeeded');
      if (how === 'cancel') expect(fin).toMatchObject({ status: 'cancelled' });
      for (const c of [source, connOf(T)]) {
        value(await engine.unlock(c));
        await checkClean(c);
      }
      expect(await run(`${id}-again`, { target_repository_id: T.id }, T)).toMatchObject({ status: 'succeeded', stats: { copied: 3 } });
      expect(await trees(connOf(T))).toEqual(await trees(source));
    }
  }, 240_000);

  it('an agent process killed mid-copy: its restic stops, the restarted agent reports the job lost, both repositories unlock, check clean and copy again', async () => {
    const T = target('T-agent');
    value(await engine.initCopyTarget(connOf(T), source));
    const own = await FakeServer.start();
    const dir = fixture(own.url());
    const start = () => spawn(process.execPath, [MAIN, 'run', '--state-dir', dir.dir], { stdio: 'ignore' });
    let agent = start();
    try {
      await own.waitFor((f) => f.type === 'hello');
      own.send({ type: 'config.update', repository: source.repository, password: PW_SRC });
      own.send({ type: 'command.run', job_id: 'ka', kind: 'copy', args: { target_repository_id: T.id, limit_upload_kbps: 1024 }, copy_target: T });
      await own.waitFor((f) => f.type === 'job.progress' && f.job_id === 'ka' && Number(f.bytes_done) > 256 * 1024, 60_000);
      const [child] = scan(T.url).pids;
      expect(child).toBeGreaterThan(0);
      const gone = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGKILL');
      await gone;
      // restic dies on its next status line into the dead agent's pipe (SIGPIPE), leaving stale
      // locks. Orphaned, it is reaped by pid 1; until then restic (kill(pid, 0)) takes the zombie
      // for a live holder, so wait for /proc/<pid> to go.
      for (let i = 0; fs.existsSync(`/proc/${child!}`); i++) {
        if (i > 3000) throw new Error(`restic ${child!} outlived its agent (or pid 1 does not reap it)`);
        await new Promise((r) => setTimeout(r, 20));
      }
      agent = start();
      expect(await own.waitFor((f) => f.job_id === 'ka' && f.type === 'job.finished', 30_000)).toMatchObject({ status: 'failed', error_kind: 'agent_lost' });
      for (const c of [source, connOf(T)]) {
        expect(value(await engine.locks!(c)).map((l) => [l.pid, l.stale])).toEqual([[child, true]]);
        value(await engine.unlock(c));
        expect(value(await engine.locks!(c))).toEqual([]);
        await checkClean(c);
      }
      own.send({ type: 'command.run', job_id: 'ka2', kind: 'copy', args: { target_repository_id: T.id }, copy_target: T });
      expect(await own.waitFor((f) => f.job_id === 'ka2' && f.type === 'job.finished', 60_000)).toMatchObject({ status: 'succeeded', stats: { copied: 3 } });
      expect(await trees(connOf(T))).toEqual(await trees(source));
    } finally {
      agent.kill('SIGTERM');
      await own.close();
      await dir.cleanup();
    }
  }, 180_000);
});
