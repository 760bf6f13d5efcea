import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffTrees, hashTree, makeCorpus, tempDir, type TempDir } from '@restic-manager/testkit';
import { backup, LocalStorage, restore } from '../src/index.js';
import { localConfig, writeTree } from './helpers.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-br-');
});
afterEach(() => dir.cleanup());

describe('backup and restore on a local directory', () => {
  it('restores a mixed corpus byte-for-byte with modes, mtimes and symlinks', async () => {
    const src = path.join(dir.path, 'src');
    await makeCorpus(src, { files: 40, totalBytes: 3_000_000, seed: 'br1' });
    writeTree(src, { 'empty.txt': '', 'exec.sh': '#!/bin/sh\n' });
    chmodSync(path.join(src, 'exec.sh'), 0o750);
    symlinkSync('exec.sh', path.join(src, 'link-to-exec'));
    utimesSync(path.join(src, 'empty.txt'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
    const { cfg, identity, repo } = localConfig(dir.path, [src]);
    const storage = new LocalStorage(repo);
    const r = await backup(cfg, { storage });
    expect(r.errors).toEqual([]);
    expect(r.blobsUploaded).toBeGreaterThan(0);
    const out = path.join(dir.path, 'out');
    const res = await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out });
    expect(res.damaged).toEqual([]);
    const restored = path.join(out, src);
    expect(diffTrees(await hashTree(src), await hashTree(restored))).toEqual([]);
    expect(lstatSync(path.join(restored, 'exec.sh')).mode & 0o7777).toBe(0o750);
    expect(readlinkSync(path.join(restored, 'link-to-exec'))).toBe('exec.sh');
    expect(lstatSync(path.join(restored, 'empty.txt')).mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
  });

  it('an unchanged re-run reads nothing and uploads no blobs; a changed file is re-read', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'a.bin': randomBytes(300_000), 'b.txt': 'hello\n'.repeat(1000) });
    const { cfg, identity, repo } = localConfig(dir.path, [src]);
    const storage = new LocalStorage(repo);
    const first = await backup(cfg, { storage });
    const second = await backup(cfg, { storage });
    expect(second.filesRead).toBe(0);
    expect(second.blobsUploaded).toBe(0);
    writeFileSync(path.join(src, 'b.txt'), 'changed\n');
    const third = await backup(cfg, { storage });
    expect(third.filesRead).toBe(1);
    const out = path.join(dir.path, 'out');
    await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: first.snapshotId, target: out });
    expect((await hashTree(path.join(out, src))).get('b.txt')?.size).toBe(6000);
  });

  it('a file that vanishes before it is read is reported and left out; the rest is committed', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'stays.txt': 'stay', 'goes.txt': 'go' });
    const { cfg, identity, repo } = localConfig(dir.path, [src]);
    const storage = new LocalStorage(repo);
    let removed = false;
    const r = await backup(cfg, {
      storage,
      onProgress: (p) => {
        if (p.phase === 'upload' && !removed) {
          removed = true;
          rmSync(path.join(src, 'goes.txt'));
        }
      },
    });
    expect(r.errors).toEqual([{ path: path.join(src, 'goes.txt'), error: expect.stringMatching(/ENOENT/) }]);
    expect(r.files).toBe(1);
    const out = path.join(dir.path, 'out');
    await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out });
    const files = [...(await hashTree(path.join(out, src))).entries()].filter(([, e]) => e.type === 'file').map(([p]) => p);
    expect(files).toEqual(['stays.txt']);
  });

  it('a missing source directory fails the backup and commits nothing', async () => {
    const { cfg, repo } = localConfig(dir.path, [path.join(dir.path, 'nope')]);
    const storage = new LocalStorage(repo);
    await expect(backup(cfg, { storage })).rejects.toThrow(/source_dirs: .*nope does not exist/);
    expect(await storage.head('index')).toBeNull();
  });

  it('excludes match names at any depth and anchored paths relative to the source root', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'keep.txt': 'k', 'drop.log': 'd', 'sub/deep/x.log': 'd', 'cache/big.bin': 'c', 'sub/y.tmp': 't' });
    const { cfg, identity, repo } = localConfig(dir.path, [src], { exclude: ['*.log', '*.tmp', '/cache'] });
    const storage = new LocalStorage(repo);
    const r = await backup(cfg, { storage });
    const out = path.join(dir.path, 'out');
    await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out });
    const tree = await hashTree(path.join(out, src));
    expect([...tree.entries()].filter(([, e]) => e.type === 'file').map(([p]) => p)).toEqual(['keep.txt']);
  });
});
