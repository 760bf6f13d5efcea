import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { backup, fetchPath, listSnapshots, LocalStorage, type ObjectInfo } from '../src/index.js';
import { localConfig, writeTree } from './helpers.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-conc-');
});
afterEach(() => dir.cleanup());

/** A store whose blob listing loses one blob from the second listing on (a concurrent prune). */
class PrunedMidway extends LocalStorage {
  lists = 0;
  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const n = prefix === 'blobs/' ? ++this.lists : 0;
    let dropped = false;
    for await (const o of super.list(prefix)) {
      if (n >= 2 && !dropped) {
        dropped = true;
        continue;
      }
      yield o;
    }
  }
}

describe('backup vs a concurrent prune', () => {
  it('a reused blob that vanishes before commit fails the backup; nothing is committed', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'a.bin': randomBytes(100_000) });
    const { cfg, repo } = localConfig(dir.path, [src]);
    await backup(cfg, { storage: new LocalStorage(repo) });
    const storage = new PrunedMidway(repo);
    await expect(backup(cfg, { storage })).rejects.toThrow(/vanished from the bucket during the backup/);
    expect((await listSnapshots(storage, cfg.indexPrefix)).filter((s) => s.committed)).toHaveLength(1);
    // The next run re-uploads what is missing and succeeds.
    const r = await backup(cfg, { storage: new LocalStorage(repo) });
    expect(r.blobsUploaded).toBeGreaterThan(0);
  });
});

describe('fetch of a directory', () => {
  it('restores the subtree into the target', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'sub/x.txt': 'x', 'sub/deeper/y.txt': 'y', 'other.txt': 'o' });
    const { cfg, identity, repo } = localConfig(dir.path, [src]);
    const storage = new LocalStorage(repo);
    const r = await backup(cfg, { storage });
    const target = path.join(dir.path, 'fetched');
    await fetchPath({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, filepath: path.join(src, 'sub'), target });
    expect(readFileSync(path.join(target, 'deeper', 'y.txt'), 'utf8')).toBe('y');
    expect(readFileSync(path.join(target, 'x.txt'), 'utf8')).toBe('x');
  });
});
