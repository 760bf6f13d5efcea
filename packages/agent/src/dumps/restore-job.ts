import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import type { DbRestoreArgs, ErrorKind } from '@restic-manager/protocol';
import type { Connection, Engine, ProgressOptions } from '@restic-manager/engines';
import type { Outcome } from '../jobs/outcome.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Resolve, ToolCommand } from './commands.js';
import { privateDir } from './dump-plan.js';
import { mongoConfigText, mongoRestoreCommand } from './more-engines.js';
import { restoreSqlite } from './sqlite-restore.js';
import { withContainerPassword } from './docker.js';
import type { Get } from './docker.js';
import { startClient } from './client-process.js';
import { runQuery } from './dump-process.js';
import { MariadbRename } from './mariadb-rename.js';
import { createDatabaseCommand, parseDumpFile, restoreCommand } from './restore-commands.js';
import type { DumpFile } from './restore-commands.js';
import { baseEnvOf, redactorFor } from './run-dumps.js';
import { resolveTool } from './tools.js';

export interface DbRestoreOptions {
  resolve?: Resolve;
  baseEnv?: Record<string, string>;
  /** Test hook: sees the restore tool's pid right after spawn. */
  onToolSpawn?: (pid: number) => void;
  /** Docker API client for `connection.password_env` (default: the socket of dockerSocketPath()). */
  dockerGet?: Get;
}

type Step = { ok: true; bytes: number } | { ok: false; error: string; errorKind: ErrorKind };

const failed = (error: string, errorKind: ErrorKind = 'failed', stats: Record<string, unknown> | null = null): Outcome => ({ status: 'failed', exitCode: null, stats, error, errorKind });
const TOOLS: Record<string, string> = { sqlite: 'sqlite3', mongodb: 'mongorestore', mariadb: 'mariadb', mysql: 'mariadb' };
const toolName = (f: DumpFile, engine: string): string => TOOLS[engine] ?? (f.custom ? 'pg_restore' : 'psql');

/**
 * A `db_restore` job: `restic dump <snapshot> <file>` streamed into psql / pg_restore / mariadb.
 * The tool sees end-of-file only after restic exited 0; if restic fails, the tool is stopped
 * before it could commit (psql and pg_restore run one transaction, so nothing is applied). If the
 * tool fails, restic is stopped. The error names the side that failed and its last stderr line.
 * With `create`, the database is created first and dropped again when the restore fails.
 */
export async function runDbRestore(engine: Engine, conn: Connection, a: DbRestoreArgs, opts: ProgressOptions, o: DbRestoreOptions = {}): Promise<Outcome> {
  const file = parseDumpFile(a.file);
  if (!file) return failed(`invalid db_restore arguments: file: ${a.file} is not a database dump file`);
  if (!engine.dump) return failed(`the ${engine.name} engine cannot stream a snapshot file; database restores need restic`);
  const cred = await withContainerPassword(a.connection, o.dockerGet);
  if (!cred.ok) return failed(cred.error);
  const c = cred.target;
  a = { ...a, connection: c };
  const resolve = o.resolve ?? resolveTool;
  const baseEnv = o.baseEnv ?? baseEnvOf();
  const redact = redactorFor(c.password);
  const say = (line: string): void => opts.onLine?.({ stream: 'stdout', line: redact(line), ts: new Date() });
  const where = `${c.engine} database ${a.database}${c.container ? ` in container ${c.container}` : ''}`;
  const stats: Record<string, unknown> = { engine: c.engine, database: a.database, snapshot_id: a.snapshot_id, file: a.file };
  if (a.create) {
    say(`creating ${where}`);
    const r = await runQuery(createDatabaseCommand(c, a.database, resolve), { baseEnv, redact });
    if (!r.ok) return failed(`psql failed (CREATE DATABASE ${a.database}): ${r.error}`, 'failed', stats);
  }
  say(`restoring ${a.file} of snapshot ${a.snapshot_id.slice(0, 8)} into ${c.engine === 'sqlite' ? `sqlite file ${c.path ?? '?'}` : where} with ${toolName(file, c.engine)}`);
  let r: Step;
  if (c.engine === 'sqlite') r = await restoreSqlite(engine, conn, a, opts, { resolve, baseEnv });
  else if (c.engine === 'mongodb') {
    const dir = c.password ? privateDir(c.run_as, 'rm-restore-') : null;
    if (dir && 'error' in dir) return failed(dir.error, 'failed', stats);
    try {
      const config = dir ? path.join(dir.dir, 'mongo.yaml') : null;
      if (config) writeFileSync(config, mongoConfigText(c.password!), { mode: 0o600 });
      const cmd = mongoRestoreCommand(c, file.database, a.database, config, resolve);
      r = await streamInto(engine, conn, a, file, opts, { ...o, resolve, baseEnv, redact, cmd });
    } finally {
      dir?.dispose();
    }
  } else r = await streamInto(engine, conn, a, file, opts, { ...o, resolve, baseEnv, redact, cmd: restoreCommand(c, file, a.database, resolve) });
  if (r.ok) {
    say(`${where}: restored ${r.bytes} bytes`);
    return { status: 'succeeded', exitCode: 0, stats: { ...stats, bytes: r.bytes, ...(a.create ? { created: true } : {}) }, error: null, errorKind: null };
  }
  if (a.create) {
    const d = await runQuery(createDatabaseCommand(c, a.database, resolve, 'DROP'), { baseEnv, redact });
    say(d.ok ? `dropped the database ${a.database} created for this restore` : `could not drop the database ${a.database} created for this restore: ${d.error}`);
  }
  if (r.errorKind === 'cancelled') return { status: 'cancelled', exitCode: null, stats, error: 'cancelled', errorKind: 'cancelled' };
  return failed(r.error, r.errorKind, stats);
}

async function streamInto(engine: Engine, conn: Connection, a: DbRestoreArgs, file: DumpFile, opts: ProgressOptions, o: DbRestoreOptions & { resolve: Resolve; baseEnv: Record<string, string>; redact: (s: string) => string; cmd: ToolCommand }): Promise<Step> {
  const c = a.connection;
  const tool = toolName(file, c.engine);
  let bytes = 0;
  // Bounded: 256 KiB here plus the pipes; restic blocks while the tool is busy.
  const head = new Transform({ highWaterMark: 256 * 1024, transform(chunk: Buffer, _e, cb) { bytes += chunk.length; cb(null, chunk); } });
  const input: Readable = (c.engine === 'mariadb' || c.engine === 'mysql') && a.database !== file.database ? head.pipe(new MariadbRename(file.database, a.database)) : head;
  const client = startClient(o.cmd, input, { baseEnv: o.baseEnv, redact: o.redact, onStderr: (l) => opts.onLine?.({ stream: 'stderr', line: `${tool}: ${l}`, ts: new Date() }) });
  if (client.pid !== undefined) o.onToolSpawn?.(client.pid);
  const stopRestic = new AbortController();
  const onJobAbort = (): void => {
    client.kill();
    stopRestic.abort();
  };
  opts.signal?.addEventListener('abort', onJobAbort, { once: true });
  let resticDone = false;
  let toolFirst: string | null = null;
  void client.exited.then((x) => {
    if (resticDone) return;
    toolFirst = x.ok ? 'it exited before reading the whole dump' : x.error ?? 'failed';
    stopRestic.abort();
  });
  try {
    const r = await engine.dump!(conn, { snapshot: a.snapshot_id, path: a.file, stdout: head }, { signal: stopRestic.signal, ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}), ...(opts.onLine ? { onLine: opts.onLine } : {}) });
    resticDone = true;
    // Only a whole dump reaches the tool's end-of-file (and so its COMMIT).
    if (r.ok && !client.done()) head.end();
    else client.kill();
    const x = await client.exited;
    const first: string | null = toolFirst;
    if (opts.signal?.aborted) return { ok: false, error: 'cancelled', errorKind: 'cancelled' };
    if (first !== null) return { ok: false, error: `${tool} failed: ${first}`, errorKind: 'failed' };
    if (!r.ok) {
      const kind: ErrorKind = r.error.kind === 'invalid_argument' || r.error.kind === 'unsupported' || r.error.kind === 'interrupted' || r.error.kind === 'partial' ? 'failed' : r.error.kind;
      return { ok: false, error: o.redact(`restic dump failed: ${r.error.message}`), errorKind: kind };
    }
    if (!x.ok) return { ok: false, error: `${tool} failed: ${x.error ?? 'failed'}`, errorKind: 'failed' };
    return { ok: true, bytes };
  } finally {
    opts.signal?.removeEventListener('abort', onJobAbort);
  }
}
