import { describe, expect, it } from 'vitest';
import { decodeLocks, encodeLocks, lockStateOf, lockViews, repoLockFields } from '../src/services/repo-locks.js';

/* The repository view's lock fields (issue 22): holder, age, stale by restic's rules or by age, the derived state. */

const NOW = Date.parse('2026-12-02T12:00:00Z');
const lock = (over: Record<string, unknown> = {}) => ({
  id: 'a'.repeat(64), time: '2026-12-02T11:59:00Z', host: 'db1', username: 'root', pid: 77, exclusive: false, stale: false, ...over,
});

describe('repository lock view', () => {
  it('names the holder user@host and ages the lock from its time', () => {
    const [v] = lockViews({ listed_at: null, items: [lock()] }, NOW);
    expect(v).toEqual({ id: 'a'.repeat(64), time: '2026-12-02T11:59:00Z', age_seconds: 60, host: 'db1', username: 'root', holder: 'root@db1', pid: 77, exclusive: false, stale: false });
  });

  it('a lock reported live turns stale once it is older than 30 minutes (restic 0.14), and stale stays stale', () => {
    const views = lockViews({ listed_at: null, items: [lock({ time: '2026-12-02T11:29:59Z' }), lock({ id: 'b'.repeat(64), stale: true })] }, NOW);
    expect(views.map((v) => v.stale)).toEqual([true, true]);
    expect(lockStateOf(views)).toBe('stale');
  });

  it('derives locked (any live lock), stale (only stale ones) and unlocked (none)', () => {
    expect(lockStateOf([{ stale: true }, { stale: false }])).toBe('locked');
    expect(lockStateOf([{ stale: true }])).toBe('stale');
    expect(lockStateOf([])).toBe('unlocked');
  });

  it('a lock without a user (an agent before issue 22) shows the host as holder', () => {
    const { username: _u, ...old } = lock();
    expect(lockViews({ listed_at: null, items: [old] }, NOW)[0]).toMatchObject({ username: null, holder: 'db1' });
  });

  it('reads the stored listing with its time, and rows written before issue 22 (a bare array)', () => {
    const stored = encodeLocks([lock()], '2026-12-02T11:59:30Z');
    expect(decodeLocks(stored)).toEqual({ listed_at: '2026-12-02T11:59:30Z', items: [lock()] });
    expect(decodeLocks(JSON.stringify([lock()]))).toEqual({ listed_at: null, items: [lock()] });
    expect(decodeLocks(null)).toBeNull();
    expect(decodeLocks('not json')).toBeNull();
  });

  it('without a listing, the bare state an agent reported (a lock-free engine), or null', () => {
    expect(repoLockFields({ locks: null, lock_state: 'unlocked' }, NOW)).toEqual({ lock_state: 'unlocked', locks: [], locks_listed_at: null });
    expect(repoLockFields({ locks: null, lock_state: null }, NOW)).toEqual({ lock_state: null, locks: [], locks_listed_at: null });
    const f = repoLockFields({ locks: encodeLocks([lock({ stale: true })], '2026-12-02T11:59:30Z'), lock_state: 'locked' }, NOW);
    expect(f).toMatchObject({ lock_state: 'stale', locks_listed_at: '2026-12-02T11:59:30Z', locks: [{ stale: true, holder: 'root@db1' }] });
  });
});
