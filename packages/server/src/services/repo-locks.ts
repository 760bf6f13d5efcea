import { RepoLockState, STALE_LOCK_AGE_SECONDS } from '@restic-manager/protocol';
import type { RepoLockReport, RepoLockView } from '@restic-manager/protocol';

/**
 * A repository's lock listing as stored in `repos.locks` (issue 22): the agent's last list and
 * when it was taken. Rows written before issue 22 hold a bare array (no `listed_at`); both
 * shapes are read. At most `MAX_STORED` locks are kept.
 */
export interface StoredLocks {
  listed_at: string | null;
  items: RepoLockReport[];
}

const MAX_STORED = 100;

export function encodeLocks(items: readonly RepoLockReport[], listedAt: string): string {
  const stored: StoredLocks = { listed_at: listedAt, items: items.slice(0, MAX_STORED) };
  return JSON.stringify(stored);
}

/** The stored listing, or null when the locks were never listed (or the column is unreadable). */
export function decodeLocks(text: string | null): StoredLocks | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v)) return { listed_at: null, items: v as RepoLockReport[] };
    if (v && typeof v === 'object' && Array.isArray((v as StoredLocks).items)) return v as StoredLocks;
  } catch {
    // fall through: treat as never listed
  }
  return null;
}

/**
 * The locks as shown at `now`: age from the lock's time, holder `user@host`, and stale when the
 * agent judged it so (same host, PID gone) or when it is now older than restic's stale age.
 */
export function lockViews(stored: StoredLocks | null, now: number): RepoLockView[] {
  return (stored?.items ?? []).map((l) => {
    const t = Date.parse(l.time);
    const age = Number.isFinite(t) ? Math.max(0, Math.round((now - t) / 1000)) : 0;
    const username = l.username ? l.username : null;
    return {
      id: l.id, time: l.time, age_seconds: age, host: l.host, username,
      holder: username ? `${username}@${l.host}` : l.host,
      pid: l.pid, exclusive: l.exclusive,
      stale: l.stale || age > STALE_LOCK_AGE_SECONDS,
    };
  });
}

/** `locked` while any lock is live, `stale` when every lock is stale, `unlocked` with none. */
export function lockStateOf(locks: readonly Pick<RepoLockView, 'stale'>[]): RepoLockState {
  if (locks.some((l) => !l.stale)) return 'locked';
  return locks.length ? 'stale' : 'unlocked';
}

/**
 * The repository view's lock fields: from the stored listing when there is one, otherwise the
 * bare state an agent reported (a lock-free engine says `unlocked`).
 */
export function repoLockFields(r: { locks: string | null; lock_state: string | null }, now: number): { lock_state: RepoLockState | null; locks: RepoLockView[]; locks_listed_at: string | null } {
  const stored = decodeLocks(r.locks);
  if (stored) {
    const locks = lockViews(stored, now);
    return { lock_state: lockStateOf(locks), locks, locks_listed_at: stored.listed_at };
  }
  const bare = RepoLockState.safeParse(r.lock_state);
  return { lock_state: bare.success ? bare.data : null, locks: [], locks_listed_at: null };
}
