// Snapshots can be forged by anyone who can write the bucket (the recipient is public):
// restore must never write outside its target.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { LocalStorage, restore, X25519Identity } from '../src/index.js';
import { encodeMeta, type SnapshotMeta } from '../src/snapshot.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-safe-');
});
afterEach(() => dir.cleanup());

function forged(entries: SnapshotMeta['entries']): SnapshotMeta {
  return { v: 1, id: '20260101T000000Z-00000000', time: '', hostname: 'x', sources: [], blobs: [], chunks: [], entries };
}

describe('restore of a forged snapshot', () => {
  it.each([['/../../escape'], ['relative/path'], ['/a/./b'], ['/a//b']])('refuses path %s and writes nothing', async (p) => {
    const id = X25519Identity.generate();
    const storage = new LocalStorage(dir.path);
    const meta = forged([{ p, t: 'f', m: 0o644, u: 0, g: 0, mt: '0', s: 0, c: [] }]);
    await storage.put(`index/${meta.id}.age`, encodeMeta(meta, [id.recipient]));
    const target = path.join(dir.path, 'target');
    await expect(restore({ storage, identity: id, indexPrefix: 'index/', snapshotId: meta.id, target })).rejects.toThrow(/unsafe path/);
    expect(existsSync(path.join(dir.path, 'escape'))).toBe(false);
  });

  it('a symlink in the snapshot cannot redirect a file write outside the target', async () => {
    const id = X25519Identity.generate();
    const storage = new LocalStorage(dir.path);
    const outside = path.join(dir.path, 'outside');
    const meta = forged([
      { p: '/d', t: 'l', m: 0o777, u: 0, g: 0, mt: '0', l: outside },
      { p: '/d/file', t: 'f', m: 0o644, u: 0, g: 0, mt: '0', s: 0, c: [] },
    ]);
    await storage.put(`index/${meta.id}.age`, encodeMeta(meta, [id.recipient]));
    const target = path.join(dir.path, 'target');
    await restore({ storage, identity: id, indexPrefix: 'index/', snapshotId: meta.id, target }).catch(() => undefined);
    expect(existsSync(path.join(outside, 'file'))).toBe(false);
  });
});
