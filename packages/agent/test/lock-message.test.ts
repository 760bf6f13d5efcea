import { describe, expect, it } from 'vitest';
import type { EngineError } from '@restic-manager/engines';
import { failureOf, lockMessage } from '../src/jobs/execute.js';

// stderr of `restic backup` (restic 0.14.0) while `restic check` held the repository, recorded on
// the development machine; the e2e test e2e/lock-failed.test.ts produces the same with live processes.
const TAIL = [
  'unable to create lock in backend: repository is already locked exclusively by PID 2293 on vm by root (UID 0, GID 0)',
  'lock was created at 2026-11-22 08:02:55 (3.28543826s ago)',
  'storage ID 8e36929f',
  'the `unlock` command can be used to remove stale locks',
];
const err = (stderrTail: string[]): EngineError => ({ kind: 'lock_failed', command: 'backup', exitCode: 1, message: stderrTail[0] ?? '', stderrTail });

describe('lock_failed message', () => {
  it('names the holder, its age and the lock id as restic printed them', () => {
    expect(lockMessage(err(TAIL))).toBe('repository is locked exclusively by PID 2293 on vm by root (UID 0, GID 0), created 2026-11-22 08:02:55 (3s ago), lock 8e36929f');
    expect(failureOf(err(TAIL))).toMatchObject({ status: 'failed', errorKind: 'lock_failed' });
  });

  it('rounds minute ages and reads shared locks', () => {
    const tail = ['unable to create lock in backend: repository is already locked by PID 7 on db1 by backup (UID 998, GID 998)', 'lock was created at 2026-11-22 07:00:00 (1m0.5s ago)'];
    expect(lockMessage(err(tail))).toBe('repository is locked by PID 7 on db1 by backup (UID 998, GID 998), created 2026-11-22 07:00:00 (1m ago)');
  });

  it('falls back to restic\'s own line when it names no holder', () => {
    expect(lockMessage(err(['Fatal: unable to create lock in backend: some backend error']))).toBe('repository is locked: Fatal: unable to create lock in backend: some backend error');
  });
});
