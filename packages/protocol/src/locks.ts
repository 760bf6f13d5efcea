import { z } from 'zod';

/**
 * Repository locks (issue 22): what the agent lists (`restic list locks` + `restic cat lock`,
 * both with --no-lock) and how the server shows it on the host's repository view.
 */

/** restic 0.14's stale age: a lock older than this is stale wherever its holder runs. */
export const STALE_LOCK_AGE_SECONDS = 30 * 60;

/** One lock as the agent reports it in `repo.stats.locks`. */
export const RepoLockReport = z.object({
  id: z.string().max(128),
  /** Creation (or last refresh) time as restic recorded it. */
  time: z.string().max(64),
  host: z.string().max(256),
  /** The holder's user name; absent from agents before issue 22. */
  username: z.string().max(256).optional(),
  pid: z.number().int(),
  exclusive: z.boolean(),
  /** restic's rule, judged by the agent when it listed the lock: same host and the PID is gone, or older than 30 minutes. */
  stale: z.boolean(),
});
export type RepoLockReport = z.infer<typeof RepoLockReport>;

/**
 * The repository's lock state as the server derives it from the last listing: `locked` = at
 * least one live lock; `stale` = only stale locks (left by killed processes; `unlock` removes
 * them); `unlocked` = no lock. Null until the agent has listed the locks once.
 */
export const RepoLockState = z.enum(['locked', 'stale', 'unlocked']);
export type RepoLockState = z.infer<typeof RepoLockState>;

/** A lock on the host's repository view (`GET /api/hosts/:id/repo`, `GET /api/hosts/:id/locks`). */
export const RepoLockView = z.object({
  id: z.string(),
  time: z.string(),
  /** Seconds since `time`, at the server's clock when the view was built. */
  age_seconds: z.number().int().nonnegative(),
  host: z.string(),
  username: z.string().nullable(),
  /** `user@host` (or `host` when no user was recorded). */
  holder: z.string(),
  pid: z.number().int(),
  exclusive: z.boolean(),
  /**
   * Reported stale by the agent, or older than restic's stale age now. A stale lock is removed
   * by an `unlock` job (restic unlock removes stale locks only); a live one never is.
   */
  stale: z.boolean(),
});
export type RepoLockView = z.infer<typeof RepoLockView>;
