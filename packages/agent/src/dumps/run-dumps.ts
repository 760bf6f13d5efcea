import type { DatabaseTarget, ErrorKind } from '@restic-manager/protocol';
import type { BackupSummary, Connection, Engine, EngineError, ProgressOptions } from '@restic-manager/engines';
import { dumpTags, globalsCommand, listCommand, safeDatabaseName, SKIPPED_DATABASES, stdinFilename } from './commands.js';
import type { Resolve, ToolCommand } from './commands.js';
import { planDump } from './dump-plan.js';
import type { DumpPlan } from './dump-plan.js';
import { runQuery, startDump } from './dump-process.js';
import { MONGO_ALL } from './more-engines.js';
import { withContainerPassword } from './docker.js';
import type { Get } from './docker.js';
import { resolveTool } from './tools.js';

/** One dump's result: a snapshot, or why there is none. */
export type DumpResult =
  | { ok: true; engine: string; database: string; snapshotId: string; bytes: number }
  | { ok: false; engine: string; database: string; error: string; errorKind: ErrorKind; container?: string };

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
  /** Docker API client for `password_env` (default: the socket of dockerSocketPath()). */
  dockerGet?: Get;
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
  if (t.engine === 'mongodb') return { ok: true, names: [MONGO_ALL] };
  if (t.engine === 'redis' || t.engine === 'sqlite') return { ok: false, error: `${t.engine} needs database (the name of its snapshot)` };
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
  for (const given of targets) {
    const cred = await withContainerPassword(given, o.dockerGet);
    if (!cred.ok) {
      results.push({ ok: false, engine: given.engine, database: given.database ?? '*', error: cred.error, errorKind: 'failed', ...(given.container ? { container: given.container } : {}) });
      continue;
    }
    const t = cred.target;
    const names = await databasesOf(t, resolve, baseEnv);
    if (!names.ok) {
      results.push({ ok: false, engine: t.engine, database: t.database ?? '*', error: names.error, errorKind: 'failed' });
      continue;
    }
    for (const n of names.names.filter((x) => !safeDatabaseName(x))) {
      o.line('event', `skipping ${t.engine} database ${JSON.stringify(n)}: its name cannot be a snapshot file name and tag (/ \\ , or a leading - or space)`);
      results.push({ ok: false, engine: t.engine, database: n, error: 'the database name contains / \\ , or starts with - or a space; dump it with a hook instead', errorKind: 'failed' });
    }
    const jobs: { name: string; plan: DumpPlan | { error: string }; file: string }[] = names.names.filter(safeDatabaseName).map((n) => ({ name: n, plan: planDump(t, n, resolve), file: stdinFilename(t, n) }));
    if (t.engine === 'postgres' && t.globals) jobs.unshift({ name: '_globals', plan: { cmd: globalsCommand(t, resolve), stage: null, label: 'pg_dumpall', dispose: () => undefined }, file: 'postgres/_globals.sql' });
    for (const j of jobs) {
      if (o.opts.signal?.aborted) {
        for (const k of jobs) if (!('error' in k.plan)) k.plan.dispose();
        return results;
      }
      o.line('event', `dumping ${t.engine} database ${j.name}${t.container ? ` in container ${t.container}` : ''} into ${j.file}`);
      const r = await dumpOne(engine, conn, t, j.plan, j.file, j.name, { ...o, baseEnv });
      if (r.ok) {
        o.line('event', `database ${j.name}: snapshot ${r.summary.snapshotId.slice(0, 8)} (${r.summary.totalBytesProcessed} bytes)`);
        results.push({ ok: true, engine: t.engine, database: j.name, snapshotId: r.summary.snapshotId, bytes: r.summary.totalBytesProcessed });
      } else {
        o.line('event', `database ${j.name}: no snapshot (${r.error})`);
        results.push({ ok: false, engine: t.engine, database: j.name, error: r.error, errorKind: r.errorKind, ...(t.container ? { container: t.container } : {}) });
      }
    }
  }
  return results;
}

/** Where a database lives, for error messages: its container, socket, host:port or file. */
export function whereOf(t: DatabaseTarget): string {
  if (t.container) return `container ${t.container}`;
  if (t.path) return t.path;
  if (t.host) return t.port ? `${t.host}:${t.port}` : t.host;
  return t.port ? `port ${t.port}` : 'the local socket';
}

/** One database: the staging step (if any), then its stream into restic; the plan's files are removed after. */
async function dumpOne(engine: Engine, conn: Connection, t: DatabaseTarget, plan: DumpPlan | { error: string }, file: string, name: string, o: DumpRunOptions & { baseEnv: Record<string, string> }): Promise<{ ok: true; summary: BackupSummary } | { ok: false; error: string; errorKind: ErrorKind }> {
  if ('error' in plan) return { ok: false, error: plan.error, errorKind: 'failed' };
  try {
    if (plan.stage) {
      const redact = redactorFor(t.password);
      const s = await runQuery(plan.stage, { baseEnv: o.baseEnv, redact });
      if (o.opts.signal?.aborted) return { ok: false, error: 'cancelled', errorKind: 'cancelled' };
      if (!s.ok) return { ok: false, error: `${plan.label} failed (${t.engine} at ${whereOf(t)}): ${s.error}`, errorKind: 'failed' };
    }
    return await dumpIntoRestic(engine, conn, plan.cmd, file, dumpTags(t, name, o.tags), { ...o, secret: t.password, label: plan.stage ? `streaming the ${plan.label} copy` : plan.label });
  } finally {
    plan.dispose();
  }
}
