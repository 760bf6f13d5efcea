import fs from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobKind } from '@restic-manager/protocol';
import type { Connection, Progress } from '@restic-manager/engines';
import { allCmdlines, diffTrees, hashTree, makeCorpus, requireTool, tempDir, type TempDir } from '@restic-manager/testkit';
import { loadEngine, loadResticEngine } from '../src/engine-loader.js';
import { executeKind, parseArgs } from '../src/jobs/execute.js';

/*
 * Issue 15: a repository can name rustic as its engine. The agent loads it by name and runs the
 * same job kinds through executeKind as for restic: here init, backup, snapshots, restore,
 * forget, check and stats against a local repository with the real rustic binary.
 */
const rustic = requireTool('rustic');
if (!rustic.ok) console.warn(`[agent rustic jobs] skipped: ${rustic.reason}`);

const PASSWORD = 'agent-rustic-pw-8c21d7';

describe('engine loader', () => {
  it('loads an engine by name; restic stays the default', async () => {
    expect((await loadEngine('rustic')).name).toBe('rustic');
    expect((await loadEngine()).name).toBe('restic');
    expect((await loadResticEngine()).name).toBe('restic');
  });
});

describe.skipIf(!rustic.ok)('agent jobs with the rustic engine (local repository)', () => {
  let tmp: TempDir;
  let src: string;
  let conn: Connection;
  const run = async (kind: JobKind, args: Record<string, unknown>, progress?: Progress[]): ReturnType<typeof executeKind> =>
    executeKind(await loadEngine('rustic'), conn, kind, parseArgs(kind, args), { progressIntervalMs: 0, ...(progress ? { onProgress: (p) => progress.push(p) } : {}) });

  beforeAll(async () => {
    tmp = await tempDir('rm-agent-rustic-');
    src = path.join(tmp.path, 'src');
    await makeCorpus(src, { files: 25, totalBytes: 3 * 1024 * 1024, seed: 'agent-rustic' });
    conn = { repository: path.join(tmp.path, 'repo'), password: PASSWORD, cacheDir: path.join(tmp.path, 'cache') };
    expect((await run('init', {})).outcome).toMatchObject({ status: 'succeeded' });
  });
  afterAll(() => tmp.cleanup());

  it('backs up and restores byte for byte, with progress and stats, and the password never in argv', async () => {
    const progress: Progress[] = [];
    let argv = '';
    const sampler = setInterval(() => (argv += allCmdlines()), 20);
    const backup = await run('backup', { paths: [src], tags: ['agent'] }, progress);
    clearInterval(sampler);
    argv += allCmdlines();
    expect(backup.outcome).toMatchObject({ status: 'succeeded', exitCode: 0, errorKind: null });
    expect(backup.outcome.stats).toMatchObject({ totalFilesProcessed: 26, filesNew: 26, snapshotId: expect.stringMatching(/^[0-9a-f]{64}$/) as string });
    expect(backup.extras).toEqual({ snapshots: true, stats: true });
    expect(progress.at(-1)?.percentDone).toBe(1);
    expect(argv.includes(PASSWORD)).toBe(false);

    const snaps = await run('snapshots', {});
    expect(snaps.outcome).toMatchObject({ status: 'succeeded', stats: { count: 1 } });

    const target = path.join(tmp.path, 'restored');
    const snapshotId = String(backup.outcome.stats?.snapshotId);
    const restore = await run('restore', { snapshot_id: snapshotId.slice(0, 8), target });
    expect(restore.outcome).toMatchObject({ status: 'succeeded', stats: { filesRestored: 25, bytesRestored: backup.outcome.stats?.totalBytesProcessed } });
    expect(diffTrees(await hashTree(src), await hashTree(path.join(target, src)))).toEqual([]);

    // a subtree restored elsewhere through a remap (restore-plan.ts: include + staging + move)
    const sub = (await readdir(src, { withFileTypes: true })).find((e) => e.isDirectory())!.name;
    const moved = path.join(tmp.path, 'moved');
    const remapped = await run('restore', { snapshot_id: snapshotId, target: '/', include: [path.join(src, sub)], remap: [{ from: path.join(src, sub), to: moved }] });
    expect(remapped.outcome.status).toBe('succeeded');
    expect(diffTrees(await hashTree(path.join(src, sub)), await hashTree(moved))).toEqual([]);

    const stats = await run('stats', {});
    expect(stats.outcome.status).toBe('succeeded');
    expect(stats.outcome.stats?.rawSize).toBeGreaterThan(0);
  });

  it('forget with a policy and check run as jobs; a wrong password fails as wrong_password', async () => {
    expect((await run('backup', { paths: [src], tags: ['second'] })).outcome.status).toBe('succeeded');
    const forget = await run('forget', { policy: { keep_last: 1 } });
    expect(forget.outcome).toMatchObject({ status: 'succeeded', stats: { kept: 1, removed: 1 } });
    expect((await run('snapshots', {})).outcome.stats).toEqual({ count: 1 });
    expect((await run('check', { read_data_subset: '1/1' })).outcome).toMatchObject({ status: 'succeeded', stats: { errors: [] } });
    const saved = conn;
    conn = { ...conn, password: 'not-the-password' };
    try {
      const denied = await run('snapshots', {});
      expect(denied.outcome).toMatchObject({ status: 'failed', errorKind: 'wrong_password', error: expect.stringMatching(/password .* incorrect/) as string });
    } finally {
      conn = saved;
    }
  });

  it('a restore that meets a damaged pack fails and leaves no file under its name (rustic names none: the restore is staged)', async () => {
    const saved = conn;
    conn = { ...conn, repository: path.join(tmp.path, 'damaged-repo'), cacheDir: path.join(tmp.path, 'damaged-cache') };
    try {
      expect((await run('init', {})).outcome.status).toBe('succeeded');
      const backup = await run('backup', { paths: [src] });
      expect(backup.outcome.status).toBe('succeeded');
      // the largest pack holds file data: 64 bytes flipped in its middle break the blobs there
      const packs = fs.readdirSync(path.join(conn.repository, 'data'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
      const pack = packs.sort((x, y) => fs.statSync(y).size - fs.statSync(x).size)[0]!;
      fs.chmodSync(pack, 0o600);
      const fd = fs.openSync(pack, 'r+');
      fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, Math.floor(fs.statSync(pack).size / 2));
      fs.closeSync(fd);
      fs.rmSync(conn.cacheDir!, { recursive: true, force: true });
      const target = path.join(tmp.path, 'restored-damaged');
      fs.mkdirSync(target);
      fs.writeFileSync(path.join(target, 'already-here.txt'), 'mine');
      const restore = await run('restore', { snapshot_id: String(backup.outcome.stats?.snapshotId), target });
      expect(restore.outcome).toMatchObject({ status: 'failed', error: expect.stringMatching(/rustic does not say which files it could not restore, so nothing of this restore was put under /) as string });
      // what was in the target stays; nothing restored, no staging directory left
      expect(fs.readdirSync(target)).toEqual(['already-here.txt']);
      expect(fs.readFileSync(path.join(target, 'already-here.txt'), 'utf8')).toBe('mine');
    } finally {
      conn = saved;
    }
  });
});

