import path from 'node:path';
import { execEngine, fail, ok, type Invocation } from '../exec.js';
import { libraryError } from '../classify.js';
import { withSecretFile } from '../secret-file.js';
import { readPage, streamCommand } from '../stream.js';
import { policyArgs, policyIsEmpty } from '../policy.js';
import { missingPassword } from '../restic/connection.js';
import { jsonLinesBackup } from '../restic/backup.js';
import type {
  BackupRequest, BackupSummary, CallOptions, CheckRequest, CheckResult, Connection, DiffResult, Engine, ForgetRequest,
  ForgetResult, KeyAddRequest, LsEntry, LsPage, LsRequest, ProgressOptions, RepoStatsResult, RestoreRequest,
  RestoreSummary, Result, Snapshot, SnapshotFilter, CopyRequest, CopySummary,
} from '../types.js';
import { rusticInvocation, withJsonProgress } from './connection.js';
import { parseRusticDiffLine, parseRusticForget, parseRusticKeyIds, parseRusticSnapshots, parseRusticVersion, splitJsonValues } from './parse.js';
import { parseRusticLsLong } from './ls.js';
import { rusticReadDataArgs } from './check.js';
import { rusticRestore } from './restore.js';
import { parseRusticRepoinfo, restoreSizeFromSnapshots } from './stats.js';

function filterArgs(f: SnapshotFilter | undefined): string[] {
  const args: string[] = [];
  if (f?.host) args.push('--filter-host', f.host);
  if (f?.tags?.length) args.push('--filter-tags', f.tags.join(','));
  for (const p of f?.paths ?? []) args.push('--filter-paths', p);
  return args;
}

/**
 * rustic (https://rustic.cli.rs) behind the same Engine contract, checked live against rustic-rs
 * 0.11.4 by the shared contract suite. Differences from restic: rustic is lock-free (unlock is a
 * no-op, no locks()); backup and restore progress come from `--json-progress` (restic's status
 * messages, without file counts); a backup has no per-file error messages, so no `partial`.
 */
export class RusticEngine implements Engine {
  readonly name = 'rustic' as const;
  readonly restoreNamesFailedFiles = false;

  private inv(conn: Connection, command: string): Invocation | Result<never> {
    if (!conn.repository) return fail(libraryError(command, 'invalid_argument', `${command}: connection.repository is required`));
    if (missingPassword(conn)) return fail(libraryError(command, 'invalid_argument', `${command}: connection needs password, passwordFile or passwordCommand`));
    return rusticInvocation(conn);
  }

  /** Runs a command and returns its whole stdout (rustic's JSON is pretty-printed, not line-based). */
  private async text(conn: Connection, command: string, args: string[], opts: CallOptions = {}): Promise<Result<{ stdout: string; stderr: string[] }>> {
    const inv = this.inv(conn, command);
    if ('ok' in inv) return inv;
    const out: string[] = [];
    const { run, error } = await execEngine(inv, command, args, { ...opts, onStdoutLine: (l) => out.push(l) });
    return error ? fail(error) : ok({ stdout: out.join('\n'), stderr: run.stderrTail });
  }

  /** rustic logs what prune/key commands did as `[INFO]` lines on stderr. */
  private static info(lines: string[]): string[] {
    return lines.filter((l) => l.startsWith('[INFO]') && !/using no config file|using cache at|password is correct/.test(l)).map((l) => l.slice('[INFO]'.length).trim());
  }

  async version(conn: Partial<Connection> = {}, opts: CallOptions = {}): Promise<Result<{ version: string; raw: string }>> {
    const inv = rusticInvocation({ ...conn, repository: '' });
    const out: string[] = [];
    const { error } = await execEngine({ ...inv, globalArgs: [] }, 'version', ['--version'], { ...opts, onStdoutLine: (l) => out.push(l) });
    if (error) return fail(error);
    const raw = out.join('\n').trim();
    const version = parseRusticVersion(raw);
    return version ? ok({ version, raw }) : fail(libraryError('version', 'failed', `unrecognised version output: ${raw}`));
  }

  /** Not offered: copies between repositories are restic's (`restic copy`). */
  async copy(_conn: Connection, _req: CopyRequest, _opts: ProgressOptions = {}): Promise<Result<CopySummary>> {
    return fail(libraryError('copy', 'unsupported', 'copy: the rustic engine does not copy snapshots between repositories here; use a restic repository as the copy source'));
  }

  /** Not offered (see copy). */
  async initCopyTarget(_conn: Connection, _from: Connection, _opts: CallOptions = {}): Promise<Result<{ id?: string }>> {
    return fail(libraryError('init', 'unsupported', 'init: the rustic engine does not initialise copy targets here; use restic'));
  }

  async init(conn: Connection, opts: CallOptions = {}): Promise<Result<{ id?: string }>> {
    const r = await this.text(conn, 'init', ['init'], opts);
    return r.ok ? ok({}) : r;
  }

  /** `rustic --json-progress backup`: the same status/summary JSON lines restic prints (see jsonLinesBackup). */
  async backup(conn: Connection, req: BackupRequest, opts: ProgressOptions = {}): Promise<Result<BackupSummary>> {
    const inv = this.inv(conn, 'backup');
    if ('ok' in inv) return inv;
    const args = ['backup'];
    for (const e of req.excludes ?? []) args.push('--glob', `!${e}`);
    for (const f of req.excludeFiles ?? []) args.push('--glob-file', f);
    for (const t of req.tags ?? []) args.push('--tag', t);
    if (req.host) args.push('--host', req.host);
    if (req.parent) args.push('--parent', req.parent);
    if (req.oneFileSystem) args.push('--one-file-system');
    if (req.stdin) args.push('--stdin-filename', req.stdin.filename, '--', '-');
    else args.push('--', ...req.paths);
    return jsonLinesBackup(withJsonProgress(inv, opts.progressIntervalMs ?? 500), args, req, opts);
  }

  async snapshots(conn: Connection, filter?: SnapshotFilter, opts: CallOptions = {}): Promise<Result<Snapshot[]>> {
    const r = await this.text(conn, 'snapshots', ['snapshots', '--json', ...filterArgs(filter)], opts);
    if (!r.ok) return r;
    const [v] = splitJsonValues(r.value.stdout).values;
    return v === undefined ? fail(libraryError('snapshots', 'failed', 'snapshots: no JSON in the output')) : ok(parseRusticSnapshots(v));
  }

  ls(conn: Connection, req: LsRequest, opts: CallOptions = {}): { entries: AsyncIterable<LsEntry>; result: Promise<Result<{ count: number }>> } {
    const inv = this.inv(conn, 'ls');
    if ('ok' in inv) return { entries: (async function* () {})(), result: Promise.resolve(inv) };
    const spec = req.path ? `${req.snapshot}:${req.path}` : req.snapshot;
    const base = req.path ? path.posix.resolve('/', req.path) : '/';
    return streamCommand(inv, 'ls', ['ls', '--long', '--numeric-uid-gid', '--recursive', '--', spec], (line) => parseRusticLsLong(line, base), opts);
  }

  async lsPage(conn: Connection, req: LsRequest & { offset: number; limit: number }, opts: CallOptions = {}): Promise<Result<LsPage>> {
    if (req.offset < 0 || req.limit < 1) return fail(libraryError('ls', 'invalid_argument', 'ls: offset must be >= 0 and limit >= 1'));
    return readPage(this.ls(conn, req, opts), req.offset, req.limit);
  }

  /** restore-size (all snapshots or one) from the stored summaries; raw-data from `repoinfo --json`; other modes are not offered. */
  async stats(conn: Connection, req: { mode?: 'restore-size' | 'raw-data' | 'files-by-contents' | 'blobs-per-file'; snapshot?: string; snapshots?: readonly string[] } = {}, opts: CallOptions = {}): Promise<Result<RepoStatsResult>> {
    const mode = req.mode ?? 'restore-size';
    if (mode === 'raw-data') {
      const r = await this.text(conn, 'stats', ['repoinfo', '--json'], opts);
      if (!r.ok) return r;
      const stats = parseRusticRepoinfo(splitJsonValues(r.value.stdout).values[0]);
      return stats ? ok(stats) : fail(libraryError('stats', 'failed', 'stats: repoinfo printed no index figures'));
    }
    if (mode !== 'restore-size') return fail(libraryError('stats', 'invalid_argument', `stats: the rustic engine offers restore-size and raw-data, not ${mode}`));
    const ids = [...(req.snapshot ? [req.snapshot] : []), ...(req.snapshots ?? [])];
    const r = await this.text(conn, 'stats', ['snapshots', '--json', ...(ids.length ? ['--', ...ids] : [])], opts);
    if (!r.ok) return r;
    const stats = restoreSizeFromSnapshots(splitJsonValues(r.value.stdout).values[0] ?? []);
    return stats ? ok(stats) : fail(libraryError('stats', 'failed', 'stats: a snapshot has no stored summary'));
  }

  async diff(conn: Connection, a: string, b: string, opts: CallOptions = {}): Promise<Result<DiffResult>> {
    const r = await this.text(conn, 'diff', ['diff', '--', a, b], opts);
    if (!r.ok) return r;
    const changes = r.value.stdout.split('\n').map(parseRusticDiffLine).filter((c) => c !== undefined);
    return ok({ changes, stats: {} });
  }

  async forget(conn: Connection, req: ForgetRequest, opts: CallOptions = {}): Promise<Result<ForgetResult>> {
    if (policyIsEmpty(req.policy)) return fail(libraryError('forget', 'invalid_argument', 'forget: refusing to run with an empty retention policy'));
    const args = ['forget', '--json', ...policyArgs(req.policy, 'rustic'), ...filterArgs(req.filter)];
    if (req.groupBy) args.push('--group-by', req.groupBy);
    if (req.prune) args.push('--prune');
    if (req.dryRun) args.push('--dry-run');
    const r = await this.text(conn, 'forget', args, opts);
    if (!r.ok) return r;
    // rustic prints nothing on stdout when no snapshot matched the filter.
    const [v] = splitJsonValues(r.value.stdout).values;
    return ok(parseRusticForget(v ?? []));
  }

  async prune(conn: Connection, opts: CallOptions = {}): Promise<Result<{ output: string[] }>> {
    const r = await this.text(conn, 'prune', ['prune'], opts);
    return r.ok ? ok({ output: [...r.value.stdout.split('\n').filter(Boolean), ...RusticEngine.info(r.value.stderr)] }) : r;
  }

  /** rustic logs problems as `[ERROR]` lines and may still exit 0: those lines are the result. */
  async check(conn: Connection, req: CheckRequest = {}, opts: CallOptions = {}): Promise<Result<CheckResult>> {
    // A percentage becomes an id subset: rustic's own x% can read no pack at all (check.ts).
    const args = ['check', ...rusticReadDataArgs(req.readDataSubset, req.readData)];
    const r = await this.text(conn, 'check', args, opts);
    if (!r.ok) {
      const errors = r.error.stderrTail.filter((l) => /\[ERROR\]/.test(l));
      return errors.length ? ok({ errors }) : r;
    }
    return ok({ errors: r.value.stderr.filter((l) => /\[ERROR\]/.test(l)) });
  }

  /** rustic is lock-free: nothing to unlock. */
  unlock(_conn: Connection): Promise<Result<void>> {
    return Promise.resolve(ok(undefined));
  }

  async restore(conn: Connection, req: RestoreRequest, opts: ProgressOptions = {}): Promise<Result<RestoreSummary>> {
    const inv = this.inv(conn, 'restore');
    if ('ok' in inv) return inv;
    return rusticRestore(withJsonProgress(inv, opts.progressIntervalMs ?? 500), req, opts);
  }

  /** New password via a private 0600 file (never argv); the new key id from `list keys` before/after. */
  async keyAdd(conn: Connection, req: KeyAddRequest, opts: CallOptions = {}): Promise<Result<{ keyId: string }>> {
    if (!req.newPassword) return fail(libraryError('key add', 'invalid_argument', 'key add: newPassword must not be empty'));
    const before = await this.text(conn, 'list keys', ['list', 'keys'], opts);
    if (!before.ok) return before;
    const addResult = await withSecretFile(req.newPassword, (file) => {
      const args = ['key', 'add', '--new-password-file', file];
      if (req.user) args.push('--username', req.user);
      if (req.host) args.push('--hostname', req.host);
      return this.text(conn, 'key add', args, opts);
    });
    if (!addResult.ok) return addResult;
    const after = await this.text(conn, 'list keys', ['list', 'keys'], opts);
    if (!after.ok) return after;
    const known = new Set(parseRusticKeyIds(before.value.stdout));
    const added = parseRusticKeyIds(after.value.stdout).filter((id) => !known.has(id));
    return added.length === 1 && added[0] ? ok({ keyId: added[0] }) : fail(libraryError('key add', 'failed', `key add: expected one new key, found ${added.length}`));
  }

  async keyRemove(conn: Connection, keyId: string, opts: CallOptions = {}): Promise<Result<void>> {
    if (!/^[0-9a-f]{4,64}$/.test(keyId)) return fail(libraryError('key remove', 'invalid_argument', 'key remove: keyId must be a hex key id'));
    const r = await this.text(conn, 'key remove', ['key', 'remove', keyId], opts);
    return r.ok ? ok(undefined) : r;
  }
}
