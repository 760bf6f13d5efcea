import { createWriteStream, linkSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DbRestoreArgs, ErrorKind } from '@restic-manager/protocol';
import type { Connection, Engine, ProgressOptions } from '@restic-manager/engines';
import type { Resolve } from './commands.js';
import { runQuery } from './dump-process.js';
import { sqliteCheckCommand } from './more-engines.js';

type Step = { ok: true; bytes: number } | { ok: false; error: string; errorKind: ErrorKind };

/**
 * A SQLite restore: `restic dump` of `/sqlite/<name>.db` into a new file beside `connection.path`
 * (`.<base>.restoring-<pid>`, 0600), `PRAGMA integrity_check` on it (must print `ok`), then a
 * hard link to `connection.path`, which fails when that file exists: a live database is never
 * replaced (restore beside it and swap while its application is stopped). The temporary file is
 * removed in every case. The file belongs to the agent's user.
 */
export async function restoreSqlite(engine: Engine, conn: Connection, a: DbRestoreArgs, opts: ProgressOptions, o: { resolve: Resolve; baseEnv: Record<string, string> }): Promise<Step> {
  const target = a.connection.path;
  if (!target) return { ok: false, error: 'sqlite needs connection.path: the file to create', errorKind: 'failed' };
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.restoring-${process.pid}`);
  let bytes = 0;
  try {
    let out: ReturnType<typeof createWriteStream>;
    try {
      out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
      await new Promise<void>((resolve, reject) => {
        out.once('open', () => resolve());
        out.once('error', reject);
      });
    } catch (err) {
      return { ok: false, error: `cannot write beside ${target}: ${(err as Error).message}`, errorKind: 'failed' };
    }
    const counter = new Transform({ transform(chunk: Buffer, _e, cb) { bytes += chunk.length; cb(null, chunk); } });
    counter.pipe(out);
    const r = await engine.dump!(conn, { snapshot: a.snapshot_id, path: a.file, stdout: counter }, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onLine ? { onLine: opts.onLine } : {}) });
    counter.end();
    await finished(out).catch(() => undefined);
    if (opts.signal?.aborted) return { ok: false, error: 'cancelled', errorKind: 'cancelled' };
    if (!r.ok) return { ok: false, error: `restic dump failed: ${r.error.message}`, errorKind: 'failed' };
    const check = await runQuery(sqliteCheckCommand(tmp, o.resolve), { baseEnv: o.baseEnv, redact: (s) => s });
    if (!check.ok) return { ok: false, error: `sqlite3 failed (integrity check of the restored copy): ${check.error}`, errorKind: 'failed' };
    if (check.lines.join(' ') !== 'ok') return { ok: false, error: `the restored copy fails PRAGMA integrity_check: ${check.lines.slice(0, 3).join('; ')}`, errorKind: 'failed' };
    try {
      linkSync(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, error: code === 'EEXIST' ? `${target} exists: a SQLite restore never replaces a database file (choose a new path)` : `cannot create ${target}: ${(err as Error).message}`, errorKind: 'failed' };
    }
    return { ok: true, bytes };
  } finally {
    rmSync(tmp, { force: true });
  }
}
