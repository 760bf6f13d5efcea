import { DEFAULT_CHECK_ROTATION, JOB_ARGS } from '@restic-manager/protocol';
import type { BackupArgs, CheckArgs, ForgetArgs } from '@restic-manager/protocol';
import type { z } from 'zod';
import type { CopyArgs, RestoreDrillArgs, DbRestoreArgs as DbRestoreArgsType, ErrorKind, JobKind, RestoreArgs as RestoreArgsType } from '@restic-manager/protocol';
import type { Connection, Engine, EngineError, ProgressOptions, Result } from '@restic-manager/engines';
import { backupWithDumps } from '../dumps/backup-job.js';
import { runDbRestore } from '../dumps/restore-job.js';
import { runRestore } from './restore-run.js';
import { enginePolicy } from './engine-policy.js';
import { scanSpecialFiles, specialFilesWarning } from './special-files.js';
import { runCopy } from './copy-run.js';
import { runDrill } from './drill-run.js';
import type { Extras, Outcome } from './outcome.js';

export type { Extras, Outcome } from './outcome.js';
export { checkRepository, openRepository, repositorySecrets, RepositoryError } from './repo-access.js';
export { copyTargetSecrets } from './copy-run.js';

/** What a job carries besides its kind and arguments. */
export interface JobContext {
  /** `command.run.copy_target` as received (validated by the copy job). */
  copyTarget?: unknown;
  /** restore_drill: the private scratch directory to restore into (created 0700, removed afterwards); absent = one under the system temp directory. */
  scratch?: string;
}


export class ArgsError extends Error {}

/** Kinds this agent cannot run yet (the server may know them). */
const UNSUPPORTED: ReadonlySet<JobKind> = new Set(['diff']);

/**
 * A check's data reading (issue 22): a given `read_data_subset` stays; otherwise part n of t
 * (`read_data_rotation`, default DEFAULT_CHECK_ROTATION; 0 = structure only), n advancing per
 * repository each run (state/check-rotation.ts), so t checks read all the pack data.
 */
export function resolveCheckArgs(args: Record<string, unknown>, nextPart: (parts: number) => number): Record<string, unknown> {
  const a = args as z.infer<typeof CheckArgs>;
  if (a.read_data_subset) return args;
  const parts = a.read_data_rotation ?? DEFAULT_CHECK_ROTATION;
  if (parts === 0) return args;
  if (parts === 1) return { ...args, read_data_subset: '1/1', read_data_rotation: 1 };
  return { ...args, read_data_subset: `${nextPart(parts)}/${parts}`, read_data_rotation: parts };
}

/** Validates `command.run.args` for a kind; throws ArgsError naming the first bad field. */
export function parseArgs(kind: JobKind, args: unknown): Record<string, unknown> {
  const schema = UNSUPPORTED.has(kind) ? undefined : JOB_ARGS[kind];
  if (!schema) throw new ArgsError(`job kind '${kind}' is not supported by this agent`);
  const r = schema.safeParse(args ?? {});
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ArgsError(`invalid ${kind} arguments: ${i && i.path.length ? i.path.join('.') + ': ' : ''}${i?.message ?? 'invalid'}`);
  }
  return r.data as Record<string, unknown>;
}

export function failureOf(e: EngineError): Outcome {
  if (e.kind === 'interrupted') return { status: 'cancelled', exitCode: e.exitCode, stats: null, error: 'cancelled', errorKind: 'cancelled' };
  const kind: ErrorKind = e.kind === 'invalid_argument' || e.kind === 'unsupported' ? 'failed' : e.kind;
  let msg = e.message;
  if (e.kind === 'lock_failed') msg = lockMessage(e);
  return { status: 'failed', exitCode: e.exitCode, stats: null, error: msg, errorKind: kind };
}

/**
 * Which lock blocked the job, from restic's own lines, e.g. "repository is locked exclusively by
 * PID 2293 on vm by root (UID 0, GID 0), created 2026-11-22 08:02:55 (3s ago), lock 8e36929f".
 */
export function lockMessage(e: EngineError): string {
  const text = e.stderrTail.join('\n');
  const by = /already locked (exclusively )?by (.+)$/m.exec(text);
  const holder = by?.[2]?.trim() ?? e.lockHolder;
  if (!holder) return `repository is locked: ${e.message}`;
  const created = /^lock was created at (.+?) \((.+?) ago\)/m.exec(text);
  const age = created?.[2]?.replace(/(\d+)\.\d+(s)$/, '$1$2').replace(/(\d+(?:h|m))0s$/, '$1');
  const id = /^storage ID ([0-9a-f]+)/m.exec(text)?.[1];
  return `repository is locked ${by?.[1] ?? ''}by ${holder}${created ? `, created ${created[1] ?? ''} (${age ?? ''} ago)` : ''}${id ? `, lock ${id}` : ''}`;
}

function ok(stats: Record<string, unknown> | null): Outcome {
  return { status: 'succeeded', exitCode: 0, stats, error: null, errorKind: null };
}

function toOutcome<T>(r: Result<T>, stats: (v: T) => Record<string, unknown> | null): Outcome {
  return r.ok ? ok(stats(r.value)) : failureOf(r.error);
}

/**
 * Runs the engine call of one job kind (backup's hooks are handled by the runner).
 * `opts` carries the abort signal and the line/progress callbacks. Never throws.
 */
export async function executeKind(engine: Engine, conn: Connection, kind: JobKind, args: Record<string, unknown>, opts: ProgressOptions, ctx: JobContext = {}): Promise<{ outcome: Outcome; extras: Extras }> {
  switch (kind) {
    case 'init':
      return { outcome: toOutcome(await engine.init(conn, opts), (v) => ({ id: v.id ?? null })), extras: {} };
    case 'backup': {
      const a = args as BackupArgs;
      if (a.databases) return backupWithDumps(engine, conn, a, opts);
      // Sockets are skipped by restic without a word: a scan beside the backup says which.
      const stopScan = new AbortController();
      const scan = scanSpecialFiles(a.paths, { excludes: a.excludes, ...(a.one_file_system ? { oneFileSystem: true } : {}), signal: stopScan.signal });
      const r = await engine.backup(conn, { paths: a.paths, excludes: a.excludes, tags: a.tags, ...(a.one_file_system ? { oneFileSystem: true } : {}) }, opts);
      if (!r.ok && !(r.error.kind === 'partial' && r.error.summary)) stopScan.abort();
      const warning = specialFilesWarning(await scan);
      if (warning && (r.ok || r.error.kind === 'partial')) opts.onLine?.({ stream: 'stdout', line: `restic-manager: warning: ${warning}`, ts: new Date() });
      if (!r.ok && r.error.kind === 'partial' && r.error.summary) {
        const warnings = [`some files could not be read: ${r.error.message}`, ...(warning ? [warning] : [])];
        return { outcome: { status: 'succeeded', exitCode: 3, stats: { ...r.error.summary, warnings }, error: `snapshot made with warnings: ${warnings.join('; ')}`, errorKind: 'partial' }, extras: { snapshots: true, stats: true } };
      }
      if (r.ok && warning) {
        return { outcome: { status: 'succeeded', exitCode: 0, stats: { ...r.value, warnings: [warning] }, error: `snapshot made with warnings: ${warning}`, errorKind: 'partial' }, extras: { snapshots: true, stats: true } };
      }
      return { outcome: toOutcome(r, (s) => ({ ...s })), extras: r.ok ? { snapshots: true, stats: true } : {} };
    }
    case 'forget': {
      const a = args as z.infer<typeof ForgetArgs>;
      const policy = enginePolicy(a.policy);
      const filter = { ...(a.tags ? { tags: a.tags } : {}), ...(a.host ? { host: a.host } : {}) };
      const r = await engine.forget(conn, { policy, prune: a.prune, ...(Object.keys(filter).length ? { filter } : {}) }, opts);
      return { outcome: toOutcome(r, (v) => ({ kept: v.keep.length, removed: v.remove.length })), extras: r.ok ? { snapshots: true, stats: true } : {} };
    }
    case 'prune': {
      const r = await engine.prune(conn, opts);
      return { outcome: toOutcome(r, () => null), extras: r.ok ? { stats: true } : {} };
    }
    case 'check': {
      const a = args as z.infer<typeof CheckArgs>;
      if (a.read_data_subset && a.read_data_rotation) {
        opts.onLine?.({ stream: 'stdout', line: `restic-manager: reading pack data part ${a.read_data_subset} (rotating: ${a.read_data_rotation} checks read all of it)`, ts: new Date() });
      } else if (!a.read_data_subset) {
        opts.onLine?.({ stream: 'stdout', line: 'restic-manager: checking the structure only (no pack data is read)', ts: new Date() });
      }
      const r = await engine.check(conn, a.read_data_subset ? { readDataSubset: a.read_data_subset } : {}, opts);
      if (r.ok && r.value.errors.length > 0) {
        return { outcome: { status: 'failed', exitCode: 1, stats: { errors: r.value.errors.slice(0, 100) }, error: `check found ${r.value.errors.length} problem(s): ${r.value.errors[0] ?? ''}`, errorKind: 'failed' }, extras: {} };
      }
      return { outcome: toOutcome(r, () => ({ errors: [], ...(a.read_data_subset ? { read_data_subset: a.read_data_subset } : {}) })), extras: {} };
    }
    case 'unlock':
      return { outcome: toOutcome(await engine.unlock(conn, {}, opts), () => null), extras: {} };
    case 'snapshots': {
      const r = await engine.snapshots(conn, undefined, opts);
      return { outcome: toOutcome(r, (v) => ({ count: v.length })), extras: r.ok ? { snapshots: true } : {} };
    }
    case 'stats': {
      const r = await engine.stats(conn, { mode: 'raw-data' }, opts);
      return { outcome: toOutcome(r, (v) => ({ ...v })), extras: r.ok ? { stats: true } : {} };
    }
    case 'restore': {
      const r = await runRestore(engine, conn, args as RestoreArgsType, opts);
      if (r.ok) return { outcome: ok({ ...r.summary, ...(r.parts > 1 ? { parts: r.parts } : {}) }), extras: {} };
      if (r.result && !r.result.ok) return { outcome: failureOf(r.result.error), extras: {} };
      return { outcome: { status: 'failed', exitCode: null, stats: null, error: r.message, errorKind: 'failed' }, extras: {} };
    }
    case 'copy': {
      const r = await runCopy(engine, conn, args as CopyArgs, ctx.copyTarget, opts);
      if (r.ok) {
        const { copied, skipped, snapshots, durationSeconds } = r.summary;
        return { outcome: ok({ copied, skipped, snapshots: snapshots.slice(0, 100), duration_seconds: durationSeconds, target_repository_id: (args as CopyArgs).target_repository_id, ...(r.initialised ? { target_initialised: true } : {}) }), extras: {} };
      }
      if (r.error) return { outcome: failureOf(r.error), extras: {} };
      return { outcome: { status: 'failed', exitCode: null, stats: null, error: r.message, errorKind: 'failed' }, extras: {} };
    }
    case 'restore_drill': {
      const r = await runDrill(engine, conn, args as RestoreDrillArgs, opts, ctx.scratch);
      if (r.ok) return { outcome: ok({ ...r.stats }), extras: {} };
      const failed = r.error ? failureOf(r.error) : { status: 'failed' as const, exitCode: null, stats: null, error: r.message, errorKind: 'failed' as const };
      // The drill's own summary names the files; an interrupted drill stays cancelled.
      return { outcome: { ...failed, ...(failed.status === 'failed' ? { error: r.message } : {}), stats: r.stats ? { ...r.stats } : null }, extras: {} };
    }
    case 'db_restore':
      return { outcome: await runDbRestore(engine, conn, args as DbRestoreArgsType, opts), extras: {} };
    default:
      return { outcome: { status: 'failed', exitCode: null, stats: null, error: `job kind '${kind}' is not supported by this agent`, errorKind: 'failed' }, extras: {} };
  }
}
