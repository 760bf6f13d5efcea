import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir, type TempDir } from '@restic-manager/testkit';
import { ResticEngine, type Connection } from '@restic-manager/engines';
import { dripStream } from './contract/streams.js';

/**
 * Error kinds that need a special set-up, each on the real restic binary: partial (exit 3),
 * timeout, not_installed, a backup that ends without a summary, invalid arguments.
 */
describe('restic error kinds', () => {
  const engine = new ResticEngine();
  let tmp: TempDir;
  let conn: Connection;
  beforeAll(async () => {
    tmp = await tempDir('rm-kinds-');
    await chmod(tmp.path, 0o755);
    conn = { repository: path.join(tmp.path, 'repo'), password: 'kinds-pass', noCache: true };
    const r = await engine.init(conn);
    expect(r.ok).toBe(true);
  });
  afterAll(() => tmp.cleanup());

  it('exit 3 (unreadable file) -> partial, with the saved snapshot in the error', async () => {
    const src = path.join(tmp.path, 'src');
    await mkdir(src);
    await writeFile(path.join(src, 'ok.txt'), 'readable');
    await writeFile(path.join(src, 'locked.txt'), 'unreadable');
    await chmod(path.join(src, 'locked.txt'), 0o000);
    let c = conn;
    if (process.getuid?.() === 0) {
      // root reads everything: run restic as nobody through a wrapper, with a repo nobody owns.
      expect(requireTool('setpriv').ok, 'setpriv (util-linux) is needed to drop root').toBe(true);
      const wrapper = path.join(tmp.path, 'restic-as-nobody');
      await writeFile(wrapper, '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups restic "$@"\n', { mode: 0o755 });
      const repo = path.join(tmp.path, 'nobody-repo');
      await mkdir(repo);
      await chown(repo, 65534, 65534);
      await chmod(src, 0o755);
      c = { repository: repo, password: 'kinds-pass', noCache: true, binary: wrapper };
      expect((await engine.init(c)).ok).toBe(true);
    }
    const r = await engine.backup(c, { paths: [src] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('partial');
    expect(r.error.exitCode).toBe(3);
    expect(r.error.summary?.snapshotId).toMatch(/^[0-9a-f]{8}$/);
    expect(r.error.summary?.errors.join('\n')).toContain('locked.txt');
    const snaps = await engine.snapshots(c);
    expect(snaps.ok && snaps.value.length).toBe(1);
  });

  it('per-call timeout -> timeout, the child is stopped', async () => {
    const drip = dripStream();
    const started = Date.now();
    const r = await engine.backup(conn, { paths: [], stdin: { stream: drip.stream, filename: 'slow' } }, { timeoutMs: 1500, killGraceMs: 3000 });
    drip.end();
    expect(r.ok ? 'ok' : r.error.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a binary that cannot be started -> not_installed', async () => {
    const r = await engine.snapshots({ ...conn, binary: path.join(tmp.path, 'no-such-restic') });
    expect(r.ok ? 'ok' : r.error.kind).toBe('not_installed');
    if (!r.ok) expect(r.error.message).toContain('could not be started');
  });

  it('a backup that exits 0 without a summary message is an error', async () => {
    const fake = path.join(tmp.path, 'silent-restic');
    await writeFile(fake, '#!/bin/sh\necho "not json"\nexit 0\n', { mode: 0o755 });
    const r = await engine.backup({ ...conn, binary: fake }, { paths: [tmp.path] });
    expect(r.ok ? 'ok' : r.error.kind).toBe('failed');
    if (!r.ok) {
      expect(r.error.message).toMatch(/without a summary.*not json/);
      expect(r.error.diagnostics).toEqual(['not json']);
    }
  });

  it('asks restic for about two status lines per progress event (RESTIC_PROGRESS_FPS), unless the caller set it', async () => {
    const fake = path.join(tmp.path, 'fps-restic');
    // prints a summary whose snapshot id carries the RESTIC_PROGRESS_FPS it was given
    await writeFile(fake, '#!/bin/sh\nprintf \'{"message_type":"summary","snapshot_id":"fps-%s","files_new":0,"total_duration":0.1}\\n\' "$RESTIC_PROGRESS_FPS"\n', { mode: 0o755 });
    const dflt = await engine.backup({ ...conn, binary: fake }, { paths: [tmp.path] });
    const fast = await engine.backup({ ...conn, binary: fake }, { paths: [tmp.path] }, { progressIntervalMs: 100 });
    const own = await engine.backup({ ...conn, binary: fake, env: { RESTIC_PROGRESS_FPS: '60' } }, { paths: [tmp.path] });
    expect([dflt, fast, own].map((r) => (r.ok ? r.value.snapshotId : r.error.message))).toEqual(['fps-4', 'fps-20', 'fps-60']);
  });

  it('rejects bad requests before running anything', async () => {
    const cases = [
      await engine.backup(conn, { paths: [] }),
      await engine.snapshots({ repository: conn.repository }),
      await engine.lsPage(conn, { snapshot: 'latest', offset: -1, limit: 1 }),
      await engine.keyRemove(conn, '../etc'),
      await engine.keyAdd(conn, { newPassword: '' }),
    ];
    expect(cases.map((r) => (r.ok ? 'ok' : r.error.kind))).toEqual(Array(5).fill('invalid_argument'));
  });

  it('backup options reach restic: excludes, exclude files, parent, one-file-system', async () => {
    const src = path.join(tmp.path, 'opts');
    await mkdir(path.join(src, 'cache'), { recursive: true });
    await writeFile(path.join(src, 'keep.txt'), 'keep');
    await writeFile(path.join(src, 'skip.tmp'), 'skip');
    await writeFile(path.join(src, 'cache', 'big.dat'), 'cache');
    const excludeFile = path.join(tmp.path, 'excludes.txt');
    await writeFile(excludeFile, 'cache\n');
    const first = await engine.backup(conn, { paths: [src], excludes: ['*.tmp'], excludeFiles: [excludeFile], oneFileSystem: true });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const names: string[] = [];
    const ls = engine.ls(conn, { snapshot: first.value.snapshotId });
    for await (const e of ls.entries) names.push(e.name);
    expect(names).toContain('keep.txt');
    expect(names).not.toContain('skip.tmp');
    expect(names).not.toContain('big.dat');
    const second = await engine.backup(conn, { paths: [src], excludes: ['*.tmp'], excludeFiles: [excludeFile], parent: first.value.snapshotId });
    expect(second.ok && second.value.filesUnmodified).toBe(1);
    const snaps = await engine.snapshots(conn, { paths: [src] });
    expect(snaps.ok && snaps.value.at(-1)?.parent?.startsWith(first.value.snapshotId)).toBe(true);
  });

  it('check reports a damaged repository as errors, not as a crash', async () => {
    const c = { ...conn, repository: path.join(tmp.path, 'damaged') };
    expect((await engine.init(c)).ok).toBe(true);
    expect((await engine.backup(c, { paths: [path.join(tmp.path, 'repo', 'config')] })).ok).toBe(true);
    // Flip bytes inside every pack (sizes unchanged): decryption fails without restic retrying a missing file.
    const { readdir, open } = await import('node:fs/promises');
    const dataDir = path.join(c.repository, 'data');
    for (const sub of await readdir(dataDir)) {
      for (const f of await readdir(path.join(dataDir, sub))) {
        const fh = await open(path.join(dataDir, sub, f), 'r+');
        await fh.write(Buffer.alloc(32, 0xff), 0, 32, 40);
        await fh.close();
      }
    }
    const r = await engine.check(c);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.errors.length).toBeGreaterThan(0);
  });
});
