import type { Connection, Engine } from '@restic-manager/engines';
import type { Logger } from '../log.js';
import type { Emit } from './job-events.js';

/**
 * After a successful backup (or forget/snapshots/stats): the full snapshot list
 * (`snapshots.report`) and repository figures (`repo.stats`). Failures are logged, not fatal.
 */
export async function sendExtras(engine: Engine, conn: Connection, jobId: string, what: { snapshots?: boolean; stats?: boolean; locked?: boolean }, emit: Emit, log: Logger): Promise<void> {
  let count: number | null = null;
  if (what.snapshots || what.stats) {
    const s = await engine.snapshots(conn);
    if (s.ok) {
      count = s.value.length;
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
  if (what.stats || what.locked) {
    let size: number | null = null;
    if (what.stats) {
      const st = await engine.stats(conn, { mode: 'raw-data' });
      if (st.ok) size = st.value.totalSize;
      else log.warn('cannot read repository stats after the job', { job_id: jobId, error: st.error.message });
    }
    emit({
      type: 'repo.stats', job_id: jobId, size_bytes: size, snapshot_count: count, dedup_ratio: null,
      lock_state: what.locked ? 'locked' : 'unlocked',
    });
  }
}
