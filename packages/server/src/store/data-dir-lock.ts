import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The lock file's name inside the data directory. */
export const LOCK_FILE = 'server.lock';

/** What the lock file holds (JSON): enough to tell a live holder from one that died. */
interface LockRecord {
  pid: number;
  hostname: string;
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat field 22); null elsewhere. */
  proc_start: string | null;
  /** Random per acquisition, so a release removes only its own file. */
  token: string;
  acquired_at: string;
}

/** Another live server process holds the data directory. `message` names the directory and the PID. */
export class DataDirLockedError extends Error {
  readonly code = 'data_dir_locked';
  constructor(readonly dataDir: string, readonly pid: number, readonly hostname: string) {
    super(`data directory ${dataDir} is in use by another restic-manager server (PID ${pid}${hostname === os.hostname() ? '' : ` on ${hostname}`}); stop it first, or give this server another data directory`);
    this.name = 'DataDirLockedError';
  }
}

/** A held lock; `release()` removes the file if it is still ours (idempotent). */
export interface DataDirLock {
  readonly file: string;
  release(): void;
}

/** Directories this process holds (a second in-process start must fail too: same PID, live). */
const heldHere = new Set<string>();

/**
 * Takes the exclusive server lock on `dataDir` (which must exist): creates `server.lock` holding
 * this process's PID, atomically (see linkComplete). A lock whose holder is dead (kill -9, crash,
 * reboot) is stale and taken over: the holder counts as alive only when a process with that PID
 * exists on this host and, on Linux, started at the recorded time (a recycled PID does not hold
 * the lock). A lock written from another hostname (a shared network data directory) is always
 * honoured. Throws DataDirLockedError when a live holder exists (having changed nothing); other
 * fs errors propagate.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = realpathSync(dataDir);
  const file = path.join(dir, LOCK_FILE);
  if (heldHere.has(dir)) throw new DataDirLockedError(dataDir, process.pid, os.hostname());
  const mine: LockRecord = { pid: process.pid, hostname: os.hostname(), proc_start: procStart(process.pid), token: randomUUID(), acquired_at: new Date().toISOString() };
  let taken = false;
  let last: LockRecord | null = null;
  for (let attempt = 0; attempt < 5 && !taken; attempt++) {
    taken = linkComplete(file, mine);
    if (taken) break;
    const held = readRecord(file);
    if (held === 'missing') continue; // released between our link and read: retry
    if (held && isAlive(held)) throw new DataDirLockedError(dataDir, held.pid, held.hostname);
    last = held;
    removeStale(file, held);
  }
  if (!taken) throw new Error(`data directory ${dataDir}: could not take ${LOCK_FILE} (another server is starting there${last ? `; last holder PID ${last.pid}` : ''})`);
  heldHere.add(dir);
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(dir);
      const now = readRecord(file);
      if (now !== 'missing' && now?.token === mine.token) unlinkQuiet(file);
    },
  };
}

/**
 * Creates `file` holding `rec`, atomically and complete: written to a temporary name, then
 * hard-linked (link(2) fails with EEXIST when the lock exists, and no reader ever sees a
 * half-written lock). Returns false when the lock file exists.
 */
function linkComplete(file: string, rec: LockRecord): boolean {
  const tmp = `${file}.${rec.token}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(rec)}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkQuiet(tmp);
  }
}

/**
 * Removes a stale lock file, serialised by a short-lived `server.lock.takeover` (O_EXCL) so two
 * starters cannot both remove it and one remove the other's fresh lock: the file is removed only
 * if it still holds the stale record read before. A takeover file older than 10 s is itself stale.
 */
function removeStale(file: string, stale: LockRecord | null): void {
  const takeover = `${file}.takeover`;
  let fd: number;
  try {
    fd = openSync(takeover, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    try {
      if (Date.now() - statSync(takeover).mtimeMs > 10_000) unlinkQuiet(takeover);
    } catch {
      /* gone */
    }
    return;
  }
  try {
    const now = readRecord(file);
    const same = now === null ? stale === null : now !== 'missing' && stale !== null && now.token === stale.token;
    if (same) unlinkQuiet(file);
  } finally {
    closeSync(fd);
    unlinkQuiet(takeover);
  }
}

/** The record; null when the file is not a lock record (corrupt); 'missing' when it is gone. */
function readRecord(file: string): LockRecord | null | 'missing' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    if (typeof r.pid !== 'number' || typeof r.hostname !== 'string' || typeof r.token !== 'string') return null;
    return { pid: r.pid, hostname: r.hostname, proc_start: r.proc_start ?? null, token: r.token, acquired_at: r.acquired_at ?? '' };
  } catch {
    return null;
  }
}

function isAlive(r: LockRecord): boolean {
  if (r.hostname !== os.hostname()) return true; // another machine's processes cannot be checked
  if (r.pid === process.pid) return false; // not in heldHere: a previous life of this PID (container restart)
  try {
    process.kill(r.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = procStart(r.pid);
  return r.proc_start == null || start == null || start === r.proc_start;
}

/** Linux: field 22 of /proc/<pid>/stat (start time since boot); null when unavailable. */
function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}
