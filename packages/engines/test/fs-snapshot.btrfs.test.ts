import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir, type TempDir } from '@restic-manager/testkit';
import { withSnapshot } from '@restic-manager/engines';

/** Real btrfs on a loop device: needs root, losetup, mkfs.btrfs and a free loop device. */
function btrfsPossible(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (a loop device and mount need root)' };
  for (const tool of ['losetup', 'mkfs.btrfs', 'btrfs', 'mount']) {
    const t = requireTool(tool);
    if (!t.ok) return t;
  }
  try {
    execFileSync('losetup', ['-f'], { stdio: 'pipe' });
  } catch {
    return { ok: false, reason: 'no free loop device (losetup -f failed)' };
  }
  return { ok: true };
}

const can = btrfsPossible();
if (!can.ok) console.warn(`[btrfs withSnapshot] skipped: ${can.reason}`);

describe.skipIf(!can.ok)('withSnapshot on a real btrfs filesystem (loop device)', () => {
  let tmp: TempDir;
  let dev = '';
  let mnt = '';
  beforeAll(async () => {
    tmp = await tempDir('rm-btrfs-');
    const img = path.join(tmp.path, 'fs.img');
    execFileSync('truncate', ['-s', '120M', img]);
    execFileSync('mkfs.btrfs', ['-q', img], { stdio: 'pipe' });
    dev = execFileSync('losetup', ['-f', '--show', img]).toString().trim();
    mnt = path.join(tmp.path, 'mnt');
    await mkdir(mnt);
    execFileSync('mount', [dev, mnt]);
    execFileSync('btrfs', ['subvolume', 'create', path.join(mnt, 'data')], { stdio: 'pipe' });
    await writeFile(path.join(mnt, 'data', 'db.txt'), 'version 1\n');
  });
  afterAll(async () => {
    if (mnt) execFileSync('umount', [mnt], { stdio: 'pipe' });
    if (dev) execFileSync('losetup', ['-d', dev], { stdio: 'pipe' });
    await tmp.cleanup();
  });

  const subvolumes = (): string => execFileSync('btrfs', ['subvolume', 'list', mnt]).toString();

  it('fn sees a frozen read-only copy; the snapshot is deleted afterwards', async () => {
    const seen = await withSnapshot('btrfs', path.join(mnt, 'data'), async (h) => {
      expect(subvolumes()).toContain(path.basename(h.path));
      await writeFile(path.join(mnt, 'data', 'db.txt'), 'version 2\n'); // the live file changes...
      const frozen = await readFile(path.join(h.path, 'db.txt'), 'utf8'); // ...the snapshot does not
      await expect(writeFile(path.join(h.path, 'new.txt'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
      return frozen;
    });
    expect(seen).toBe('version 1\n');
    expect(subvolumes()).not.toContain('restic-manager-');
    expect(await readdir(path.join(mnt, '.restic-manager-snapshots'))).toEqual([]);
  });

  it('the snapshot is deleted when fn throws', async () => {
    await expect(withSnapshot('btrfs', path.join(mnt, 'data'), () => Promise.reject(new Error('backup failed')))).rejects.toThrow('backup failed');
    expect(subvolumes()).not.toContain('restic-manager-');
  });

  it('a directory that is not a subvolume is refused and leaves nothing behind', async () => {
    await mkdir(path.join(mnt, 'plain'));
    await expect(withSnapshot('btrfs', path.join(mnt, 'plain'), () => Promise.resolve(1))).rejects.toThrow(/btrfs subvolume show/);
  });
});
