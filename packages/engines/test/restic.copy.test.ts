import { execFileSync } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResticEngine, RusticEngine } from '@restic-manager/engines';
import type { Connection, OutputLine, Progress } from '@restic-manager/engines';
import { diffTrees, environOf, hashTree, makeCorpus, processes, requireTool, startRestServer, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { COUNT_AFTER_MS, CopyOutput, copyInvocation } from '../src/restic/copy.js';

const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping real-restic copy tests: ${restic.reason}`);
const rclone = requireTool('rclone');
const htpasswd = requireTool('htpasswd');
if (!rclone.ok || !htpasswd.ok) console.warn(`skipping the REST copy test: ${!rclone.ok ? rclone.reason : !htpasswd.ok ? htpasswd.reason : ''}`);

const PW_A = 'copy-source-pw-8d1f3c';
const PW_B = 'copy-target-pw-2b7e9a';

/** Pids of running `restic copy` children whose target is `repo`, with every process's argv seen. */
function scan(repo: string): { pids: number[]; cmdlines: string } {
  const all = processes();
  const pids = all.filter((p) => /(^|\/)restic$/.test(p.argv[0] ?? '') && p.argv.includes('copy') && environOf(p.pid).includes(`RESTIC_REPOSITORY=${repo}`)).map((p) => p.pid);
  return { pids, cmdlines: all.map((p) => `${p.cmdline}\n`).join('') };
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('restic copy output', () => {
  it('counts copied and skipped snapshots and reads the pack counter', () => {
    const out = new CopyOutput();
    expect(out.line('snapshot 88906dd8 of [/tmp/cpt/d] at 2026-12-02 14:30:54.887879492 +0000 UTC)')).toBe(true);
    expect(out.current?.label).toBe('snapshot 88906dd8 of [/tmp/cpt/d]');
    expect(out.line('  copy started, this may take a while...')).toBe(false);
    expect(out.line('[0:01] 50.00%  1 / 2 packs copied')).toBe(true);
    expect(out.fraction).toBe(0.5);
    out.line('snapshot 998e8b58 saved');
    out.line('snapshot 0be60688 of [/tmp/cpt/d] at 2026-12-02 14:30:55.597490546 +0000 UTC)');
    out.line('skipping source snapshot 0be60688, was already copied to snapshot 75d9431d');
    out.line('[0:00]          0 packs copied');
    expect({ copied: out.copied, skipped: out.skipped, pairs: out.pairs, fraction: out.fraction }).toEqual({
      copied: 1, skipped: 1, pairs: [{ source: '88906dd8', target: '998e8b58' }], fraction: 0,
    });
  });

  it('puts the source only into RESTIC_FROM_* variables and refuses conflicting backend keys by name', () => {
    const target: Connection = { repository: '/t', password: PW_B };
    const inv = copyInvocation('copy', target, { repository: 'rest:http://u@127.0.0.1:1/a/', restPassword: 'rest-secret-77', password: PW_A, cacert: '/ca.pem' });
    if ('kind' in inv) throw new Error(inv.message);
    expect(inv.env).toMatchObject({ RESTIC_REPOSITORY: '/t', RESTIC_PASSWORD: PW_B, RESTIC_FROM_REPOSITORY: 'rest:http://u:rest-secret-77@127.0.0.1:1/a/', RESTIC_FROM_PASSWORD: PW_A });
    expect(inv.globalArgs).toEqual(['--cacert', '/ca.pem']);
    expect(inv.redactor.redact(`x ${PW_A} ${PW_B} rest-secret-77`)).toBe('x *** *** ***');
    const clash = copyInvocation('copy', { ...target, accessKeyId: 'AKIATARGET', secretAccessKey: 'target-secret-1' }, { repository: 's3:h/b', password: PW_A, accessKeyId: 'AKIASOURCE', secretAccessKey: 'source-secret-2' });
    expect(clash).toMatchObject({ kind: 'invalid_argument' });
    const msg = (clash as { message: string }).message;
    expect(msg).toMatch(/AWS_ACCESS_KEY_ID/);
    expect(msg).not.toMatch(/AKIA|secret-/);
    expect(copyInvocation('copy', target, { repository: '/s' })).toMatchObject({ kind: 'invalid_argument', message: expect.stringContaining('source connection needs password') as string });
  });

  it('rustic answers copy and initCopyTarget with unsupported', async () => {
    const r = new RusticEngine();
    expect(await r.copy({ repository: '/b', password: 'x' }, { from: { repository: '/a', password: 'y' } })).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
    expect(await r.initCopyTarget({ repository: '/b', password: 'x' }, { repository: '/a', password: 'y' })).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
  });
});

describe.skipIf(!restic.ok)('restic copy (real restic, local repositories)', () => {
  const engine = new ResticEngine();
  let tmp: TempDir;
  let src: string;
  let A: Connection;
  const conn = (name: string, password: string, extra: Partial<Connection> = {}): Connection => ({ repository: path.join(tmp.path, name), password, cacheDir: path.join(tmp.path, 'cache'), ...extra });
  const ok = <T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  /** A new repository `name` holding one backup of `dir`, a generated tree of `mib` files of 1 MiB each. */
  const backedUp = async (name: string, dir: string, mib: number, seed: string): Promise<Connection> => {
    const tree = path.join(tmp.path, dir);
    await makeCorpus(tree, { files: mib, totalBytes: mib * 1024 * 1024, seed });
    const c = conn(name, PW_A);
    ok(await engine.init(c));
    ok(await engine.backup(c, { paths: [tree] }));
    return c;
  };
  const checkClean = async (c: Connection): Promise<void> => expect(ok(await engine.check(c)).errors).toEqual([]);
  const trees = async (c: Connection): Promise<string[]> => ok(await engine.snapshots(c)).map((s) => s.tree ?? '').sort();

  beforeAll(async () => {
    tmp = await tempDir('rm-engine-copy-');
    src = path.join(tmp.path, 'src');
    await makeCorpus(src, { files: 40, totalBytes: 6 * 1024 * 1024, seed: 'copy' });
    A = conn('A', PW_A);
    ok(await engine.init(A));
    ok(await engine.backup(A, { paths: [src] }));
    ok(await engine.backup(A, { paths: [src], tags: ['weekly'] }));
    ok(await engine.backup(A, { paths: [src], host: 'other-host' }));
  }, 120_000);
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('initialises a target with the source chunker parameters, copies, and the copy restores byte for byte', async () => {
    const B = conn('B', PW_B);
    ok(await engine.initCopyTarget(B, A));
    const poly = (c: Connection): string => {
      const config = execFileSync('restic', ['cat', 'config'], { env: { ...process.env, RESTIC_REPOSITORY: c.repository, RESTIC_PASSWORD: c.password } }).toString();
      return (JSON.parse(config) as { chunker_polynomial: string }).chunker_polynomial;
    };
    expect(poly(B)).toMatch(/^[0-9a-f]+$/);
    expect(poly(B)).toBe(poly(A));

    const progress: Progress[] = [];
    const lines: OutputLine[] = [];
    let cmdlines = '';
    const sampler = setInterval(() => (cmdlines += scan(B.repository).cmdlines), 20);
    const r = await engine.copy(B, { from: A }, { onProgress: (p) => progress.push(p), onLine: (l) => lines.push(l), progressIntervalMs: 50 });
    clearInterval(sampler);
    const sum = ok(r);
    expect({ copied: sum.copied, skipped: sum.skipped, pairs: sum.snapshots.length }).toEqual({ copied: 3, skipped: 0, pairs: 3 });
    expect(progress.at(-1)).toMatchObject({ percentDone: 1, filesDone: 3, totalFiles: 3 });
    expect(lines.filter((l) => / saved$/.test(l.line))).toHaveLength(3);
    expect(cmdlines).toContain('copy');
    for (const secret of [PW_A, PW_B]) {
      expect(cmdlines).not.toContain(secret);
      expect(JSON.stringify(lines)).not.toContain(secret);
    }
    expect(await trees(B)).toEqual(await trees(A));
    await checkClean(A);
    await checkClean(B);

    const copied = ok(await engine.snapshots(B)).find((s) => s.hostname !== 'other-host' && s.tags.length === 0)!;
    const out = path.join(tmp.path, 'restored');
    ok(await engine.restore(B, { snapshot: copied.id, target: out }));
    expect(diffTrees(await hashTree(src), await hashTree(path.join(out, src)))).toEqual([]);

    const again = ok(await engine.copy(B, { from: A }));
    expect({ copied: again.copied, skipped: again.skipped }).toEqual({ copied: 0, skipped: 3 });
  }, 120_000);

  it('copies only the snapshots of the given hosts and tags', async () => {
    const C = conn('C', PW_B);
    ok(await engine.initCopyTarget(C, A));
    const me = ok(await engine.snapshots(A)).find((s) => s.hostname !== 'other-host')!.hostname;
    expect(ok(await engine.copy(C, { from: A, hosts: [me], tags: ['weekly'] })).copied).toBe(1);
    expect(ok(await engine.snapshots(C)).map((s) => [s.hostname, s.tags])).toEqual([[me, ['weekly']]]);
    expect(ok(await engine.copy(C, { from: A, hosts: [me] }))).toMatchObject({ copied: 1, skipped: 1 });
  }, 120_000);

  it.skipIf(!rclone.ok || !htpasswd.ok)('copies to an append-only REST server and back, the REST password only in the environment', async () => {
    const REST_PW = 'rest-user-pw-4e8b1d';
    const rest = await startRestServer({ users: { h1: REST_PW }, appendOnly: true, privateRepos: true });
    try {
      const R: Connection = { repository: rest.repoUrl('h1'), password: PW_B, restUsername: 'h1', restPassword: REST_PW, cacheDir: path.join(tmp.path, 'cache') };
      let cmdlines = '';
      const lines: OutputLine[] = [];
      const sampler = setInterval(() => (cmdlines += scan(R.repository).cmdlines), 20);
      ok(await engine.initCopyTarget(R, A, { onLine: (l) => lines.push(l) }));
      expect(ok(await engine.copy(R, { from: A }, { onLine: (l) => lines.push(l) })).copied).toBe(3);
      const C = conn('C-from-rest', PW_A);
      ok(await engine.initCopyTarget(C, R));
      expect(ok(await engine.copy(C, { from: R }, { onLine: (l) => lines.push(l) })).copied).toBe(3);
      clearInterval(sampler);
      expect(await trees(R)).toEqual(await trees(A));
      expect(await trees(C)).toEqual(await trees(A));
      await checkClean(R);
      expect(cmdlines).toContain('copy');
      for (const secret of [REST_PW, PW_A, PW_B]) {
        expect(cmdlines).not.toContain(secret);
        expect(JSON.stringify(lines)).not.toContain(secret);
      }
      const wrong = await engine.copy(C, { from: { ...R, restPassword: 'not-the-rest-pw-1' } });
      expect(wrong.ok).toBe(false);
      expect(JSON.stringify(wrong)).not.toMatch(/not-the-rest-pw-1|rest-user-pw/);
    } finally {
      await rest.stop();
    }
  }, 120_000);

  it('refuses to copy a repository onto itself, however the location is spelled (prefix, trailing slash, .., symlink)', async () => {
    const link = path.join(tmp.path, 'A-link');
    await symlink(A.repository, link);
    for (const target of [A.repository, `local:${A.repository}/`, `${A.repository}/../A`, link]) {
      const r = await engine.copy({ ...A, repository: target }, { from: A });
      expect(r).toMatchObject({ ok: false, error: { kind: 'invalid_argument' } });
      if (!r.ok) expect(r.error.message).toMatch(/same repository/);
    }
    expect(await engine.initCopyTarget(A, A)).toMatchObject({ ok: false, error: { kind: 'invalid_argument' } });
  });

  it('says which side is missing, and a wrong source password never shows a password', async () => {
    const B = conn('B-missing', PW_B);
    const r = await engine.copy(B, { from: A });
    expect(r).toMatchObject({ ok: false, error: { kind: 'no_repository' } });
    if (!r.ok) expect(r.error.message).toMatch(/the target repository/);
    const D = conn('D', PW_B);
    ok(await engine.init(D));
    const w = await engine.copy(D, { from: { ...A, password: 'not-the-password-123' } });
    expect(w).toMatchObject({ ok: false, error: { kind: 'wrong_password' } });
    expect(JSON.stringify(w)).not.toMatch(/not-the-password-123|copy-source-pw|copy-target-pw/);
  }, 60_000);

  it('a copy told how many snapshots it will consider shows that total at once and runs no counting process', async () => {
    const S = await backedUp('S-known', 'big-known', 6, 'copy-known');
    const T = conn('T-known', PW_B);
    ok(await engine.initCopyTarget(T, S));
    const totals = new Set<number | null>();
    let counting = false;
    // 1 MiB/s: the copy runs well past COUNT_AFTER_MS, when an uninformed copy would count.
    const sampler = setInterval(() => {
      for (const p of processes()) {
        if (/(^|\/)restic$/.test(p.argv[0] ?? '') && p.argv.includes('snapshots') && environOf(p.pid).includes(`RESTIC_REPOSITORY=${S.repository}`)) counting = true;
      }
    }, 50);
    const r = await engine.copy({ ...T, limitUploadKiBs: 1024 }, { from: S, expectedSnapshots: 1 }, { progressIntervalMs: 50, onProgress: (p) => totals.add(p.totalFiles) });
    clearInterval(sampler);
    expect(ok(r)).toMatchObject({ copied: 1 });
    expect(ok(r).durationSeconds).toBeGreaterThan(COUNT_AFTER_MS / 1000);
    expect([...totals]).toEqual([1]);
    expect(counting).toBe(false);
  }, 120_000);

  it('after SIGKILL of restic mid-copy and after a cancel, both repositories unlock, check clean, and a second copy completes', async () => {
    const S = await backedUp('S', 'big', 12, 'copy-big');

    for (const how of ['sigkill', 'abort'] as const) {
      const T = conn(`T-${how}`, PW_B);
      ok(await engine.initCopyTarget(T, S));
      const ac = new AbortController();
      let last: Progress | undefined;
      // 1 MiB/s: the copy takes seconds, so it is stopped while packs are being written.
      const run = engine.copy({ ...T, limitUploadKiBs: 1024 }, { from: S }, { signal: ac.signal, killGraceMs: 200, progressIntervalMs: 50, onProgress: (p) => (last = p) });
      const pid = await until('the restic copy child', () => scan(T.repository).pids[0]);
      // A copy running longer than COUNT_AFTER_MS learns how many snapshots it will consider.
      await until('bytes written and the snapshot total', () => (last && last.bytesDone > 256 * 1024 && last.totalFiles === 1 ? true : undefined));
      expect(last!.percentDone).toBeLessThan(1);
      if (how === 'sigkill') process.kill(pid, 'SIGKILL');
      else ac.abort();
      const r = await run;
      // Killed from outside (not by us): a failure naming the signal; cancelled by us: interrupted.
      expect(r).toMatchObject(how === 'sigkill' ? { ok: false, error: { kind: 'failed', message: expect.stringMatching(/killed by SIGKILL/) } } : { ok: false, error: { kind: 'interrupted' } });
      expect(ok(await engine.snapshots(T))).toHaveLength(0);
      // A killed restic leaves its locks behind (stale: this host, the pid is gone); a cancelled one removes them.
      if (how === 'sigkill') for (const c of [S, T]) expect(ok(await engine.locks(c)).map((l) => [l.pid, l.stale])).toEqual([[pid, true]]);
      for (const c of [S, T]) {
        ok(await engine.unlock(c));
        expect(ok(await engine.locks(c))).toEqual([]);
        await checkClean(c);
      }
      expect(ok(await engine.copy(T, { from: S }))).toMatchObject({ copied: 1, skipped: 0 });
      expect(await trees(T)).toEqual(await trees(S));
      await checkClean(T);
    }
  }, 240_000);
});
