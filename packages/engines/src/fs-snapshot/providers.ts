import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { mustRun, type CommandRunner } from './runner.js';

/** A created snapshot: where the frozen view of the source is, and how to get rid of it. */
export interface CreatedSnapshot {
  /** Path at which the source's content appears, frozen. */
  path: string;
  /** Engine-level identifier (subvolume path, dataset@name, vg/lv). */
  id: string;
  release(): Promise<void>;
}

export interface ProviderOptions {
  runner: CommandRunner;
  name: string;
  /** btrfs: directory for the snapshot subvolume (same filesystem); default `<parent of source>/.restic-manager-snapshots`. */
  snapshotDir?: string;
  /** lvm: copy-on-write space for the snapshot (lvcreate -L), default 1G. */
  lvmSize?: string;
  /** lvm: where to mount the snapshot; default `/run/restic-manager/snapshots/<name>`. */
  mountDir?: string;
}

/** btrfs: `sourcePath` must be a subvolume; a read-only snapshot subvolume is created next to it. */
export async function createBtrfs(sourcePath: string, o: ProviderOptions): Promise<CreatedSnapshot> {
  await mustRun(o.runner, 'btrfs', ['subvolume', 'show', sourcePath]);
  const dir = o.snapshotDir ?? path.join(path.dirname(sourcePath), '.restic-manager-snapshots');
  await mkdir(dir, { recursive: true });
  const snap = path.join(dir, o.name);
  await mustRun(o.runner, 'btrfs', ['subvolume', 'snapshot', '-r', sourcePath, snap]);
  return {
    path: snap,
    id: snap,
    release: async () => {
      await mustRun(o.runner, 'btrfs', ['subvolume', 'delete', snap]);
    },
  };
}

/** zfs: snapshot of the dataset mounted at (or containing) `sourcePath`, read through `.zfs/snapshot`. */
export async function createZfs(sourcePath: string, o: ProviderOptions): Promise<CreatedSnapshot> {
  const list = await mustRun(o.runner, 'zfs', ['list', '-H', '-o', 'name,mountpoint', '-t', 'filesystem']);
  let best: { name: string; mount: string } | undefined;
  for (const line of list.split('\n')) {
    const [name, mount] = line.split('\t');
    if (!name || !mount || !mount.startsWith('/')) continue;
    const inside = sourcePath === mount || sourcePath.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
    if (inside && (!best || mount.length > best.mount.length)) best = { name, mount };
  }
  if (!best) throw new Error(`zfs: no mounted dataset contains ${sourcePath}`);
  const id = `${best.name}@${o.name}`;
  await mustRun(o.runner, 'zfs', ['snapshot', id]);
  const rel = path.relative(best.mount, sourcePath);
  return {
    path: path.join(best.mount, '.zfs', 'snapshot', o.name, rel),
    id,
    release: async () => {
      await mustRun(o.runner, 'zfs', ['destroy', id]);
    },
  };
}

/** lvm: snapshot LV of the volume mounted at `sourcePath`, mounted read-only. */
export async function createLvm(sourcePath: string, o: ProviderOptions): Promise<CreatedSnapshot> {
  const info = (await mustRun(o.runner, 'findmnt', ['-n', '-o', 'SOURCE,TARGET,FSTYPE', '--target', sourcePath])).trim().split(/\s+/);
  const [device, mountpoint, fstype] = info;
  if (!device || !mountpoint) throw new Error(`lvm: cannot find the device mounted at ${sourcePath}`);
  const lv = (await mustRun(o.runner, 'lvs', ['--noheadings', '-o', 'vg_name,lv_name', device])).trim().split(/\s+/);
  const [vg, lvName] = lv;
  if (!vg || !lvName) throw new Error(`lvm: ${device} is not a logical volume`);
  await mustRun(o.runner, 'lvcreate', ['-s', '-n', o.name, '-L', o.lvmSize ?? '1G', `${vg}/${lvName}`]);
  const id = `${vg}/${o.name}`;
  const mountDir = o.mountDir ?? path.join('/run/restic-manager/snapshots', o.name);
  try {
    await mkdir(mountDir, { recursive: true });
    await mustRun(o.runner, 'mount', ['-o', fstype === 'xfs' ? 'ro,nouuid' : 'ro', `/dev/${id}`, mountDir]);
  } catch (err) {
    await mustRun(o.runner, 'lvremove', ['-f', id]).catch(() => undefined);
    throw err;
  }
  return {
    path: path.join(mountDir, path.relative(mountpoint, sourcePath)),
    id,
    release: async () => {
      const errors: string[] = [];
      await mustRun(o.runner, 'umount', [mountDir]).catch((e: Error) => errors.push(e.message));
      await rmdir(mountDir).catch(() => undefined);
      await mustRun(o.runner, 'lvremove', ['-f', id]).catch((e: Error) => errors.push(e.message));
      if (errors.length) throw new Error(errors.join('; '));
    },
  };
}
