/**
 * Backup locks: `locks/<random>.json` holding only timestamps. A running backup
 * refreshes its lock; prune deletes nothing while a fresh lock exists.
 */
import { randomBytes } from 'node:crypto';
import { LOCK_PREFIX } from './layout.js';
import type { Storage } from './storage/index.js';

export const LOCK_REFRESH_MS = 5 * 60_000;
/** A lock not refreshed for this long belongs to a dead backup. */
export const LOCK_STALE_MS = 3 * LOCK_REFRESH_MS;

export interface Lock {
  key: string;
  release(): Promise<void>;
}

export async function acquireLock(storage: Storage): Promise<Lock> {
  const key = `${LOCK_PREFIX}${randomBytes(8).toString('hex')}.json`;
  const started = new Date().toISOString();
  const write = () => storage.put(key, Buffer.from(JSON.stringify({ started, refreshed: new Date().toISOString() })));
  await write();
  const timer = setInterval(() => void write().catch(() => undefined), LOCK_REFRESH_MS);
  timer.unref();
  return {
    key,
    async release() {
      clearInterval(timer);
      await storage.delete(key).catch(() => undefined);
    },
  };
}

/** Locks refreshed within LOCK_STALE_MS. */
export async function liveLocks(storage: Storage, now = Date.now()): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list(LOCK_PREFIX)) if (now - o.modified.getTime() < LOCK_STALE_MS) out.push(o.key);
  return out;
}
