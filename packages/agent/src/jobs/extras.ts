import type { Connection, Engine, RepoLock } from '@restic-manager/engines';
import type { Logger } from '../log.js';
import type { Emit } from './job-events.js';
import type { LogicalBytes } from './logical-bytes.js';

export interface ExtrasWanted {
  /** Send the full snapshot list (snapshots.report). */
  snapshots?: boolean;
  /** Send size/count/dedup (repo.stats). */
  stats?: boolean;
  /** The job failed on a held lock. */
  locked?: boolean;
  /**
   * List the repository's locks (sent as repo.stats.locks; the runner asks after every job), or
   * `'none'` when the job itself proves there are none (an init that just created the
   * repository): the empty list is sent without running restic.
   */
  locks?: boolean | 'none';
  /** A check just finished with this result. */
  check?: 'succeeded' | 'failed';
}

/**
 * After a job: the full snapshot list (`snapshots.report`) and repository figures (`repo.stats`:
 * size, count, dedup ratio, key ids and config id, lock list, last check). Failures are logged, not fatal.
 */
export async function sendExtras(engine: Engine, conn: Connection, jobId: string, what: ExtrasWanted, emit: Emit, log: Logger, logical?: LogicalBytes): Promise<void> {
  let count: number | null = null;
  let ids: string[] | null = null;
  if (what.snapshots || what.stats) {
    const s = await engine.snapshots(conn);
    if (s.ok) {
      count = s.value.length;
      ids = s.value.map((x) => x.id);
      if (what.snapshots) {
        emit({
          type: 'snapshots.report',
          job_id: jobId,
          snapshots: s.value.map((x) => ({
            id: x.id, short_id: x.shortId, time: x.time, hostname: x.hostname, paths: x.paths, tags: x.tags ?? [],
            ...(x.username ? { username: x.username } : {}), ...(x.parent ? { parent: x.parent } : {}), ...(x.tree ? { tree: x.tree } : {}),
          })),
        });
      }
    } else log.warn('cannot list snapshots after the job', { job_id: jobId, error: s.error.message });
  }
  if (!(what.stats || what.locked || what.locks || what.check)) return;
  let size: number | null = null;
  let dedup: number | null = null;
  if (what.stats) {
    const st = await engine.stats(conn, { mode: 'raw-data' });
    if (st.ok) size = st.value.totalSize;
    else log.warn('cannot read repository stats after the job', { job_id: jobId, error: st.error.message });
    // Dedup ratio: logical bytes of all snapshots (restore-size) over the bytes stored; walked
    // again only for the snapshots it has not seen (LogicalBytes) when the runner keeps one.
    if (st.ok && size) {
      const bytes = logical && ids ? await logical.total(engine, conn, ids) : await allRestoreSize(engine, conn);
      if (bytes !== null) dedup = Math.round((bytes / size) * 100) / 100;
    }
  }
  // Key ids and config id with the figures (issue 16): the server notices keys it did not add.
  let identity: { key_ids: string[]; config_id: string } | null = null;
  if (what.stats && engine.identity) {
    const id = await engine.identity(conn);
    if (id.ok) identity = { key_ids: id.value.keyIds.slice(0, 1000), config_id: id.value.configId };
    else log.warn('cannot list repository keys', { job_id: jobId, error: id.error.message });
  }
  let locks: RepoLock[] | undefined = what.locks === 'none' ? [] : undefined;
  if (what.locks === true && engine.locks) {
    const l = await engine.locks(conn);
    if (l.ok) locks = l.value;
    else log.warn('cannot list repository locks', { job_id: jobId, error: l.error.message });
  }
  emit({
    type: 'repo.stats', job_id: jobId, size_bytes: size, snapshot_count: count, dedup_ratio: dedup,
    ...lockFields(engine, locks, what.locked === true),
    ...(identity ?? {}),
    ...(what.check ? { last_check_at: new Date().toISOString(), last_check_status: what.check } : {}),
  });
}

/** The restore size of all snapshots in one walk; null when restic fails. */
async function allRestoreSize(engine: Engine, conn: Connection): Promise<number | null> {
  const all = await engine.stats(conn, { mode: 'restore-size' });
  return all.ok ? all.value.totalSize : null;
}

/**
 * repo.stats' lock fields. Never claims `unlocked` without having looked: with a list, the list
 * (and `locked` when it has any lock, live or stale; the server tells them apart); without one,
 * `locked` after a job that met a lock, `unlocked` for a lock-free engine, else nothing.
 */
function lockFields(engine: Engine, locks: RepoLock[] | undefined, locked: boolean): { locks?: RepoLock[]; lock_state?: 'locked' | 'unlocked' } {
  if (locks) return { locks, lock_state: locks.length ? 'locked' : 'unlocked' };
  if (locked) return { lock_state: 'locked' };
  return engine.locks ? {} : { lock_state: 'unlocked' };
}
