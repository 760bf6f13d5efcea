import type { DatabaseTarget, ErrorKind } from '@restic-manager/protocol';
import type { BackupSummary, Connection, Engine, EngineError, ProgressOptions } from '@restic-manager/engines';
import { dumpCommand, dumpTags, globalsCommand, listCommand, safeDatabaseName, SKIPPED_DATABASES, stdinFilename } from './commands.js';
import type { Resolve, ToolCommand } from './commands.js';
import { runQuery, startDump } from './dump-process.js';
import { resolveTool } from './tools.js';

/** One dump's result: a snapshot, or why there is none. */
export type DumpResult =
  | { ok: true; engine: string; database: string; snapshotId: string; bytes: number }
  | { ok: false; engine: string; database: string; error: string; errorKind: ErrorKind };

export interface DumpRunOptions {
  /** Extra tags (the backup's own `tags`). */
  tags: readonly string[];
  /** The job's options: abort signal and the redacted line callback. */
  opts: ProgressOptions;
  /** Job log line (already redacted by the caller's redactor too). */
  line: (stream: 'stdout' | 'stderr' | 'event', text: string) => void;
  /** Environment the tools start with (PATH, LANG, HOME); defaults to a minimal one. */
  baseEnv?: Record<string, string>;
  resolve?: Resolve;
  /** Test hook: sees each dump tool's pid right after spawn. */
  onDumpSpawn?: (pid: number) => void;
}

/** The environment the database tools start with: PATH, HOME, TZ, DOCKER_HOST and a UTF-8 locale. */
export function baseEnvOf(): Record<string, string> {
  const env: Record<string, string> = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  for (const k of ['PATH', 'HOME', 'TZ', 'DOCKER_HOST']) {
    const v = process.env[k];
    if (v) env[k] = v;
  }
  return env;
}

/** Replaces a database password in tool output by `***`. */
export const redactorFor = (secret: string | undefined) => (s: string): string =>
  secret && secret.length >= 1 && s.includes(secret) ? s.split(secret).join('***') : s;

/**
 * Streams one dump tool into `restic backup --stdin`. restic only ever sees end-of-file after
 * the tool exited 0; when the tool fails, restic is interrupted before EOF, so restic saves no
 * snapshot (a truncated dump is never recorded as a backup). When restic fails first, the tool
 * is stopped.
 */
export async function dumpIntoRestic(engine: Engine, conn: Connection, cmd: ToolCommand, file: string, tags: string[], o: DumpRunOptions & { secret: string | undefined; label: string }): Promise<{ ok: true; summary: BackupSummary } | { ok: false; error: string; errorKind: ErrorKind }> {
  const redact = redactorFor(o.secret);
  const dump = startDump(cmd, { baseEnv: o.baseEnv ?? baseEnvOf(), redact, onStderr: (l) => o.line('stderr', `${o.label}: ${l}`) });
  if (dump.pid !== undefined) o.onDumpSpawn?.(dump.pid);
  const stopRestic = new AbortController();
  const onJobAbort = (): void => {
    dump.kill();
    stopRestic.abort();
  };
  o.opts.signal?.addEventListener('abort', onJobAbort, { once: true });
  let dumpFailed: string | null = null;
  void dump.exited.then((x) => {
    if (!x.ok) {
      dumpFailed = x.error ?? 'the dump tool failed';
      stopRestic.abort();
    }
  });
  try {
    const r = await engine.backup(conn, { paths: [], tags, stdin: { stream: dump.stdout, filename: file } }, { ...o.opts, signal: stopRestic.signal });
    // Set before restic returned only when the tool failed first (it then interrupted restic).
    const failedFirst: string | null = dumpFailed;
    dump.kill();
    await dump.exited;
    if (o.opts.signal?.aborted) return { ok: false, error: 'cancelled', errorKind: 'cancelled' };
    if (failedFirst !== null) return { ok: false, error: `${o.label} failed: ${failedFirst}`, errorKind: 'failed' };
    if (!r.ok) return { ok: false, error: redact(describe(r.error)), errorKind: r.error.kind === 'invalid_argument' || r.error.kind === 'unsupported' || r.error.kind === 'interrupted' ? 'failed' : r.error.kind };
    return { ok: true, summary: r.value };
  } finally {
    o.opts.signal?.removeEventListener('abort', onJobAbort);
  }
}

function describe(e: EngineError): string {
  return `restic: ${e.message}`;
}

/** The database names a target stands for (`all: true` asks the server). */
export async function databasesOf(t: DatabaseTarget, resolve: Resolve, baseEnv: Record<string, string>): Promise<{ ok: true; names: string[] } | { ok: false; error: string }> {
  if (t.database) return { ok: true, names: [t.database] };
  const r = await runQuery(listCommand(t, resolve), { baseEnv, redact: redactorFor(t.password) });
  if (!r.ok) return { ok: false, error: `cannot list the databases of ${t.engine}${t.host ? ` at ${t.host}` : ''}: ${r.error}` };
  const skip = SKIPPED_DATABASES[t.engine === 'postgres' ? 'postgres' : 'mysql'];
  return { ok: true, names: r.lines.filter((n) => !skip.has(n)) };
}

/**
 * Dumps every database of every target, one snapshot each, in order. Stops at a cancel; a failed
 * database does not stop the others (each result says what happened). Never throws.
 */
export async function runDumps(engine: Engine, conn: Connection, targets: readonly DatabaseTarget[], o: DumpRunOptions): Promise<DumpResult[]> {
  const resolve = o.resolve ?? resolveTool;
  const baseEnv = o.baseEnv ?? baseEnvOf();
  const results: DumpResult[] = [];
  for (const t of targets) {
    const names = await databasesOf(t, resolve, baseEnv);
    if (!names.ok) {
      results.push({ ok: false, engine: t.engine, database: t.database ?? '*', error: names.error, errorKind: 'failed' });
      continue;
    }
    for (const n of names.names.filter((x) => !safeDatabaseName(x))) {
      o.line('event', `skipping ${t.engine} database ${JSON.stringify(n)}: its name cannot be a snapshot file name and tag (/ \\ , or a leading - or space)`);
      results.push({ ok: false, engine: t.engine, database: n, error: 'the database name contains / \\ , or starts with - or a space; dump it with a hook instead', errorKind: 'failed' });
    }
    const jobs: { name: string; cmd: ToolCommand; file: string; label: string }[] = names.names.filter(safeDatabaseName).map((n) => {
      const cmd = dumpCommand(t, n, resolve);
      return { name: n, cmd, file: stdinFilename(t, n), label: t.engine === 'postgres' ? 'pg_dump' : 'mariadb-dump' };
    });
    if (t.engine === 'postgres' && t.globals) jobs.unshift({ name: '_globals', cmd: globalsCommand(t, resolve), file: 'postgres/_globals.sql', label: 'pg_dumpall' });
    for (const j of jobs) {
      if (o.opts.signal?.aborted) return results;
      o.line('event', `dumping ${t.engine} database ${j.name}${t.container ? ` in container ${t.container}` : ''} into ${j.file}`);
      const r = await dumpIntoRestic(engine, conn, j.cmd, j.file, dumpTags(t, j.name, o.tags), { ...o, baseEnv, secret: t.password, label: j.label });
      if (r.ok) {
        o.line('event', `database ${j.name}: snapshot ${r.summary.snapshotId.slice(0, 8)} (${r.summary.totalBytesProcessed} bytes)`);
        results.push({ ok: true, engine: t.engine, database: j.name, snapshotId: r.summary.snapshotId, bytes: r.summary.totalBytesProcessed });
      } else {
        o.line('event', `database ${j.name}: no snapshot (${r.error})`);
        results.push({ ok: false, engine: t.engine, database: j.name, error: r.error, errorKind: r.errorKind });
      }
    }
  }
  return results;
}
