import { chownSync, lchownSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { backup, check, LocalStorage, restore } from '../src/index.js';
import { flip, localConfig, writeTree } from './helpers.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-own-');
});
afterEach(() => dir.cleanup());

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('skipping ownership restore test: needs root');

describe('restore metadata', () => {
  it.skipIf(!isRoot)('restores file and symlink ownership as root', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'owned.txt': 'x' });
    symlinkSync('owned.txt', path.join(src, 'link'));
    chownSync(path.join(src, 'owned.txt'), 1234, 5678);
    lchownSync(path.join(src, 'link'), 4321, 8765);
    const { cfg, identity, repo } = localConfig(dir.path, [src]);
    const storage = new LocalStorage(repo);
    const r = await backup(cfg, { storage });
    const out = path.join(dir.path, 'out');
    await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out });
    const st = lstatSync(path.join(out, src, 'owned.txt'));
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
    const l = lstatSync(path.join(out, src, 'link'));
    expect(l.isSymbolicLink()).toBe(true);
    expect([l.uid, l.gid]).toEqual([4321, 8765]);
  });

  it('a flipped bit in a reference list is reported by check', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'a.txt': 'a' });
    const { cfg, repo } = localConfig(dir.path, [src]);
    const storage = new LocalStorage(repo);
    const r = await backup(cfg, { storage });
    const refs = path.join(repo, 'index', `${r.snapshotId}.refs`);
    const b = readFileSync(refs);
    flip(b, 30);
    writeFileSync(refs, b);
    const c = await check({ storage, indexPrefix: cfg.indexPrefix });
    expect(c.problems).toEqual([expect.objectContaining({ kind: 'refs', snapshot: r.snapshotId })]);
  });
});
