import fs from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Private per-job directories for credential files (key files, CA bundles, rclone.conf): each
 * job gets a fresh 0700 directory below `root` (itself 0700), removed when the job ends. What a
 * killed agent left behind is removed by `sweepJobDirs` when the next agent starts, before any
 * job runs.
 */
export interface JobDir {
  path: string;
  /** Removes the directory and its files; never throws. */
  remove(): Promise<void>;
}

export async function openJobDir(root: string, label: string): Promise<JobDir> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  await chmod(root, 0o700);
  const dir = await mkdtemp(path.join(root, `${label.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48)}-`));
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined) };
}

/** Removes every leftover job directory below `root`; returns how many there were. Call only while no job runs. */
export function sweepJobDirs(root: string): number {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return 0;
  }
  for (const n of names) fs.rmSync(path.join(root, n), { recursive: true, force: true });
  return names.length;
}
