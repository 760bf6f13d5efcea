/**
 * The host's own lock: two backups of one config (one local index) never run at once. A file
 * `<index_path>.lock` created with O_EXCL holds the owner's pid; a lock whose process is gone
 * (killed backup) is taken over. Local only: the bucket never holds a lock object.
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';

/** Another backup of the same config is running on this host. */
export class LocalLockError extends Error {
  readonly code = 'BUSY';
}

export interface LocalLock {
  readonly file: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(file: string): boolean {
  try {
    const fd = openSync(file, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

export function acquireLocalLock(indexPath: string): LocalLock {
  const file = `${indexPath}.lock`;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (!tryCreate(file)) {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) throw new LocalLockError(`lock ${file} holds no pid; if no backup of this config is running, remove it`);
    if (alive(pid)) {
      throw new LocalLockError(`another backup of this config is running (pid ${pid}, lock ${file}); nothing backed up`);
    }
    unlinkSync(file);
    if (!tryCreate(file)) throw new LocalLockError(`another backup of this config just started (lock ${file}); nothing backed up`);
  }
  return {
    file,
    // Idempotent, and only ever our own lock: the file is removed while it still holds our pid.
    release() {
      try {
        if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}
