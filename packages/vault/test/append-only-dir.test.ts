// The local backend on a directory where objects may only be added: every directory of the
// repository is append-only (chattr +a: entries can be created, never removed or replaced, even
// by root). Backups succeed there, so the host never deletes, renames away or overwrites an object.
// Skipped, with the reason, where chattr +a is not available (no ext4/xfs, no CAP_LINUX_IMMUTABLE).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashTree, tempDir, type TempDir } from '@restic-manager/testkit';
import { backup, check, LocalStorage, restore } from '../src/index.js';
import { localConfig, writeTree } from './helpers.js';

function chattr(flag: '+a' | '-a', dirs: string[], recursive = false): boolean {
  return spawnSync('chattr', [...(recursive ? ['-R'] : []), flag, ...dirs], { stdio: 'ignore' }).status === 0;
}

const appendOnlyWorks = ((): boolean => {
  const d = mkdtempSync(path.join(tmpdir(), 'vault-ao-probe-'));
  const ok = chattr('+a', [d]);
  chattr('-a', [d]);
  rmSync(d, { recursive: true, force: true });
  if (!ok) console.warn('skipping the append-only directory test: chattr +a is not available here');
  return ok;
})();

let dir: TempDir;
let repo = '';
beforeEach(async () => {
  dir = await tempDir('vault-ao-');
});
afterEach(async () => {
  if (repo) chattr('-a', [repo], true);
  repo = '';
  await dir.cleanup();
});

describe.skipIf(!appendOnlyWorks)('backups into an append-only directory tree', () => {
  it('two backups commit and restore; a delete or an overwrite from the host fails', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'a.txt': 'alpha', 'sub/b.bin': Buffer.alloc(300_000, 7) });
    const made = localConfig(dir.path, [src]);
    repo = made.repo;
    const dirs = ['index', 'runs', 'prune', '.staging', ...Array.from({ length: 256 }, (_, i) => `blobs/${i.toString(16).padStart(2, '0')}`)].map((d) => path.join(repo, d));
    for (const d of dirs) mkdirSync(d, { recursive: true });
    // Everything but the host's private .staging/ is append-only.
    expect(chattr('+a', [repo, path.join(repo, 'blobs'), ...dirs.filter((d) => !d.endsWith('.staging'))])).toBe(true);
    const storage = new LocalStorage(repo);
    const first = await backup(made.cfg, { storage });
    writeFileSync(path.join(src, 'a.txt'), 'alpha, changed');
    const second = await backup(made.cfg, { storage });
    for (const r of [first, second]) {
      const out = path.join(dir.path, `out-${r.snapshotId}`);
      expect((await restore({ storage, identity: made.identity, indexPrefix: made.cfg.indexPrefix, snapshotId: r.snapshotId, target: out })).damaged).toEqual([]);
    }
    expect([...(await hashTree(path.join(dir.path, `out-${second.snapshotId}`, src))).keys()]).toContain('a.txt');
    expect((await check({ storage, indexPrefix: made.cfg.indexPrefix, identity: made.identity })).problems).toEqual([]);
    const refs = `index/${second.snapshotId}.refs`;
    await expect(storage.delete(refs)).rejects.toMatchObject({ code: 'Denied' });
    await expect(storage.put(refs, Buffer.from('forged'))).rejects.toMatchObject({ code: 'Denied' });
    await expect(storage.put(refs, Buffer.from('forged'), { createOnly: true })).rejects.toMatchObject({ code: 'AlreadyExists' });
  });
});
