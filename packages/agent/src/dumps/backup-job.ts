import type { BackupArgs, ErrorKind } from '@restic-manager/protocol';
import type { Connection, Engine, ProgressOptions } from '@restic-manager/engines';
import type { Extras, Outcome } from '../jobs/outcome.js';
import { runDumps } from './run-dumps.js';
import type { DumpResult } from './run-dumps.js';

/**
 * A backup job with `databases`: the paths (if any) first, then one dump snapshot per database.
 * The job succeeds only when every snapshot was made; otherwise it fails with the first error,
 * and `stats.databases` says which databases have a snapshot.
 */
export async function backupWithDumps(engine: Engine, conn: Connection, a: BackupArgs, opts: ProgressOptions): Promise<{ outcome: Outcome; extras: Extras }> {
  const say = (text: string): void => opts.onLine?.({ stream: 'stdout', line: text, ts: new Date() });
  const stats: Record<string, unknown> = {};
  let pathError: string | null = null;
  let pathKind: ErrorKind = 'failed';
  if (a.paths.length > 0) {
    const r = await engine.backup(conn, { paths: a.paths, excludes: a.excludes, tags: a.tags, ...(a.one_file_system ? { oneFileSystem: true } : {}) }, opts);
    if (r.ok) Object.assign(stats, r.value);
    else if (r.error.kind === 'partial' && r.error.summary) Object.assign(stats, r.error.summary);
    else {
      pathError = r.error.message;
      pathKind = r.error.kind === 'invalid_argument' || r.error.kind === 'unsupported' || r.error.kind === 'interrupted' || r.error.kind === 'partial' ? 'failed' : r.error.kind;
    }
  }
  let results: DumpResult[] = [];
  if (!opts.signal?.aborted) {
    results = await runDumps(engine, conn, a.databases ?? [], {
      tags: a.tags,
      opts,
      line: (stream, text) => opts.onLine?.({ stream: stream === 'event' ? 'stdout' : stream, line: text, ts: new Date() }),
    });
  }
  stats.databases = results.map((d) => (d.ok ? { engine: d.engine, database: d.database, snapshot_id: d.snapshotId, bytes: d.bytes } : { engine: d.engine, database: d.database, error: d.error }));
  const made = results.filter((d) => d.ok).length;
  const extras: Extras = made > 0 || (a.paths.length > 0 && pathError === null) ? { snapshots: true, stats: true } : {};
  if (opts.signal?.aborted) return { outcome: { status: 'cancelled', exitCode: null, stats, error: 'cancelled', errorKind: 'cancelled' }, extras };
  const failed = results.filter((d): d is Extract<DumpResult, { ok: false }> => !d.ok);
  if (pathError !== null || failed.length > 0) {
    const f = failed[0];
    const first = pathError ?? `${f!.engine} database ${f!.database}${f!.container ? ` in container ${f!.container}` : ''}: ${f!.error}`;
    const more = failed.length + (pathError !== null ? 1 : 0) - 1;
    say(`${made} database snapshot(s) made, ${failed.length} database(s) failed`);
    let kind: ErrorKind = pathError !== null ? pathKind : failed[0]?.errorKind ?? 'failed';
    // lock_failed makes the runner unlock and run the whole job again: only when nothing was saved,
    // so a retry never duplicates the snapshots already made.
    if (kind === 'lock_failed' && (made > 0 || (a.paths.length > 0 && pathError === null))) kind = 'failed';
    return { outcome: { status: 'failed', exitCode: null, stats, error: more > 0 ? `${first} (and ${more} more failure(s))` : first, errorKind: kind }, extras };
  }
  return { outcome: { status: 'succeeded', exitCode: 0, stats, error: null, errorKind: null }, extras };
}
