import os from 'node:os';
import { execEngine, JsonLines, fail, ok, type Invocation } from '../exec.js';
import { libraryError } from '../classify.js';
import { readPage, streamCommand } from '../stream.js';
import type {
  CallOptions, CheckRequest, CheckResult, Connection, DiffItem, DiffResult, Engine, ForgetRequest, ForgetResult,
  LsEntry, LsPage, LsRequest, ProgressOptions, RepoLock, RepoStatsResult, RestoreRequest, RestoreSummary, Result,
  Snapshot, SnapshotFilter, BackupRequest, BackupSummary, KeyAddRequest, DumpRequest, CopyRequest, CopySummary, RepoIdentity,
} from '../types.js';
import { resticBackup } from './backup.js';
import { copyInvocation, resticCopy, resticInitCopyTarget, sameRepositoryError } from './copy.js';
import { missingPassword, resticInvocation } from './connection.js';
import { resticKeyAdd } from './keys.js';
import { addDiffLine, isObj, parseDiffItem, parseForgetGroups, parseLsNode, parseSnapshot, parseSnapshotList, parseStats, parseVersion, versionAtLeast } from './parse.js';
import { resticRestore, type RestoreTotals } from './restore.js';
import { policyArgs, policyIsEmpty } from '../policy.js';

/** A server answer that retrying cannot fix: stop the child at once instead of waiting out restic's back-off. */
interface Refusal {
  pattern: RegExp;
  message: string;
}

/** restic retries a refused DELETE for ~45 s before failing; an append-only server refuses every time. */
const APPEND_ONLY: Refusal = {
  pattern: /Remove\(<[^>]+>\) returned error.*\b403\b/,
  message: 'the repository server refused to delete (HTTP 403 Forbidden): it is append-only. Run forget/prune where the repository is writable (e.g. on the backup server).',
};

export function filterArgs(f: SnapshotFilter | undefined): string[] {
  const args: string[] = [];
  if (f?.host) args.push('--host', f.host);
  // One --tag with a comma list = snapshots having all of these tags.
  if (f?.tags?.length) args.push('--tag', f.tags.join(','));
  for (const p of f?.paths ?? []) args.push('--path', p);
  return args;
}

/** restic >= 0.14 (tested on 0.14.0). One instance can serve any number of repositories. */
export class ResticEngine implements Engine {
  readonly name = 'restic' as const;
  readonly restoreNamesFailedFiles = true;
  private readonly versions = new Map<string, Promise<string | undefined>>();

  /** Builds the per-call invocation; refuses before spawning when no password source is set. */
  private inv(conn: Connection, command: string): Invocation | Result<never> {
    if (!conn.repository) return fail(libraryError(command, 'invalid_argument', `${command}: connection.repository is required`));
    if (missingPassword(conn)) return fail(libraryError(command, 'invalid_argument', `${command}: connection needs password, passwordFile or passwordCommand`));
    return resticInvocation(conn);
  }

  private async simple(conn: Connection, command: string, args: string[], opts: CallOptions = {}, onJson?: (v: unknown) => void, refusal?: Refusal): Promise<Result<string[]>> {
    const inv = this.inv(conn, command);
    if ('ok' in inv) return inv;
    const lines = new JsonLines(inv.redactor, onJson ?? (() => undefined));
    let stop: (() => void) | undefined;
    let refused = false;
    const { run, error } = await execEngine(inv, command, args, {
      ...opts,
      onStdoutLine: lines.line,
      ...(refusal
        ? {
            onSpawn: (_pid, h) => (stop = h.stop),
            onStderrLine: (line) => {
              if (!refused && refusal.pattern.test(line)) {
                refused = true;
                stop?.();
              }
            },
          }
        : {}),
    });
    if (refused) return fail(libraryError(command, 'failed', refusal?.message ?? `${command} was refused`, run.stderrTail, run.exitCode));
    return error ? fail(error) : ok(lines.diagnostics);
  }

  async version(conn: Partial<Connection> = {}, opts: CallOptions = {}): Promise<Result<{ version: string; raw: string }>> {
    const inv = resticInvocation({ ...conn, repository: undefined as unknown as string });
    delete inv.env.RESTIC_REPOSITORY;
    const out: string[] = [];
    const { error } = await execEngine(inv, 'version', ['version'], { ...opts, onStdoutLine: (l) => out.push(l) });
    if (error) return fail(error);
    const raw = out.join('\n').trim();
    const version = parseVersion(raw);
    return version ? ok({ version, raw }) : fail(libraryError('version', 'failed', `unrecognised version output: ${raw}`));
  }

  /** Cached per binary: decides between native `restore --json` (>= 0.16) and the polling fallback. */
  private binaryVersion(conn: Connection): Promise<string | undefined> {
    const bin = conn.binary ?? 'restic';
    let v = this.versions.get(bin);
    if (!v) {
      v = this.version({ binary: bin }).then((r) => (r.ok ? r.value.version : undefined));
      this.versions.set(bin, v);
    }
    return v;
  }

  async init(conn: Connection, opts: CallOptions = {}): Promise<Result<{ id?: string }>> {
    let id: string | undefined;
    const r = await this.simple(conn, 'init', ['init', '--json'], opts, (v) => {
      if (isObj(v) && typeof v.id === 'string') id = v.id; // restic >= 0.15
    });
    if (!r.ok) return r;
    id ??= r.value.map((l) => /created restic repository ([0-9a-f]+)/.exec(l)?.[1]).find(Boolean);
    return ok(id ? { id } : {});
  }

  async backup(conn: Connection, req: BackupRequest, opts: ProgressOptions = {}): Promise<Result<BackupSummary>> {
    const inv = this.inv(conn, 'backup');
    if ('ok' in inv) return inv;
    return resticBackup(inv, req, opts);
  }

  async snapshots(conn: Connection, filter?: SnapshotFilter, opts: CallOptions = {}): Promise<Result<Snapshot[]>> {
    let snaps: Snapshot[] | undefined;
    const r = await this.simple(conn, 'snapshots', ['snapshots', '--json', ...filterArgs(filter)], opts, (v) => {
      if (Array.isArray(v)) snaps = parseSnapshotList(v);
    });
    if (!r.ok) return r;
    return snaps ? ok(snaps) : fail(libraryError('snapshots', 'failed', 'snapshots: no JSON list in the output'));
  }

  ls(conn: Connection, req: LsRequest, opts: CallOptions = {}): { entries: AsyncIterable<LsEntry>; result: Promise<Result<{ count: number }>> } {
    const inv = this.inv(conn, 'ls');
    if ('ok' in inv) return { entries: (async function* () {})(), result: Promise.resolve(inv) };
    const args = [...(req.noLock ? ['--no-lock'] : []), 'ls', '--json', ...(req.recursive ? ['--recursive'] : []), ...(req.host ? ['--host', req.host] : []), req.snapshot];
    if (req.path) args.push(req.path);
    let first = true;
    return streamCommand(inv, 'ls', args, (line) => {
      if (!line.startsWith('{')) return undefined;
      try {
        const v: unknown = JSON.parse(line);
        if (first && req.onSnapshot) {
          first = false;
          const s = (v as { struct_type?: unknown }).struct_type === 'snapshot' ? parseSnapshot(v) : undefined;
          if (s) req.onSnapshot(s);
        }
        return parseLsNode(v);
      } catch {
        return undefined;
      }
    }, opts);
  }

  async lsPage(conn: Connection, req: LsRequest & { offset: number; limit: number }, opts: CallOptions = {}): Promise<Result<LsPage>> {
    if (req.offset < 0 || req.limit < 1) return fail(libraryError('ls', 'invalid_argument', 'ls: offset must be >= 0 and limit >= 1'));
    return readPage(this.ls(conn, req, opts), req.offset, req.limit);
  }

  async stats(conn: Connection, req: { mode?: 'restore-size' | 'raw-data' | 'files-by-contents' | 'blobs-per-file'; snapshot?: string; snapshots?: readonly string[] } = {}, opts: CallOptions = {}): Promise<Result<RepoStatsResult>> {
    const mode = req.mode ?? 'restore-size';
    let stats: RepoStatsResult | undefined;
    const args = ['stats', '--json', '--mode', mode];
    if (req.snapshot) args.push(req.snapshot);
    if (req.snapshots?.length) args.push(...req.snapshots);
    const r = await this.simple(conn, 'stats', args, opts, (v) => {
      stats = parseStats(v, mode);
    });
    if (!r.ok) return r;
    return stats ? ok(stats) : fail(libraryError('stats', 'failed', 'stats: no JSON object in the output'));
  }

  async diff(conn: Connection, a: string, b: string, opts: CallOptions = {}): Promise<Result<DiffResult>> {
    const acc: DiffResult = { changes: [], stats: {} };
    const r = await this.simple(conn, 'diff', ['diff', '--json', a, b], opts, (v) => addDiffLine(acc, v));
    return r.ok ? ok(acc) : r;
  }

  diffStream(conn: Connection, a: string, b: string, opts: CallOptions = {}): { items: AsyncIterable<DiffItem>; result: Promise<Result<{ count: number }>> } {
    const inv = this.inv(conn, 'diff');
    if ('ok' in inv) return { items: (async function* () {})(), result: Promise.resolve(inv) };
    const s = streamCommand(inv, 'diff', ['diff', '--json', a, b], (line) => {
      if (!line.startsWith('{')) return undefined;
      try {
        return parseDiffItem(JSON.parse(line));
      } catch {
        return undefined;
      }
    }, opts);
    return { items: s.entries, result: s.result };
  }

  async forget(conn: Connection, req: ForgetRequest, opts: CallOptions = {}): Promise<Result<ForgetResult>> {
    if (policyIsEmpty(req.policy)) return fail(libraryError('forget', 'invalid_argument', 'forget: the retention policy keeps nothing explicitly; refusing to run with an empty policy'));
    const args = ['forget', '--json', ...policyArgs(req.policy), ...filterArgs(req.filter)];
    if (req.groupBy) args.push('--group-by', req.groupBy);
    if (req.prune) args.push('--prune');
    if (req.dryRun) args.push('--dry-run');
    if (req.dryRun && req.noLock) args.push('--no-lock');
    let result: ForgetResult | undefined;
    const r = await this.simple(conn, 'forget', args, opts, (v) => {
      if (Array.isArray(v)) result = parseForgetGroups(v);
    }, APPEND_ONLY);
    if (!r.ok) return r;
    return ok(result ?? { keep: [], remove: [] });
  }

  async prune(conn: Connection, opts: CallOptions = {}): Promise<Result<{ output: string[] }>> {
    const r = await this.simple(conn, 'prune', ['prune'], opts, undefined, APPEND_ONLY);
    return r.ok ? ok({ output: r.value }) : r;
  }

  async check(conn: Connection, req: CheckRequest = {}, opts: CallOptions = {}): Promise<Result<CheckResult>> {
    const args = ['check'];
    if (req.readDataSubset) args.push('--read-data-subset', req.readDataSubset);
    else if (req.readData) args.push('--read-data');
    const r = await this.simple(conn, 'check', args, opts);
    if (r.ok) return ok({ errors: [] });
    // "Fatal: repository contains errors": check ran and found problems -> a result, not a failure.
    if (/repository contains errors/i.test(r.error.message)) {
      const problems = r.error.stderrTail.filter((l) => !/^(using temporary cache|create exclusive lock|load indexes|check all packs|check snapshots|\[\d)/.test(l));
      return ok({ errors: problems.length ? problems : [r.error.message] });
    }
    return r;
  }

  async unlock(conn: Connection, req: { removeAll?: boolean } = {}, opts: CallOptions = {}): Promise<Result<void>> {
    const r = await this.simple(conn, 'unlock', req.removeAll ? ['unlock', '--remove-all'] : ['unlock'], opts);
    return r.ok ? ok(undefined) : r;
  }

  /** `restic dump [--archive tar|zip] <snapshot> <path>`: the file's bytes or the folder's archive into `req.stdout` (never ended here). */
  async dump(conn: Connection, req: DumpRequest, opts: CallOptions = {}): Promise<Result<void>> {
    const inv = this.inv(conn, 'dump');
    if ('ok' in inv) return inv;
    if (!req.path.startsWith('/')) return fail(libraryError('dump', 'invalid_argument', 'dump: path must be absolute'));
    const { error } = await execEngine(inv, 'dump', ['dump', ...(req.archive ? ['--archive', req.archive] : []), '--', req.snapshot, req.path], { ...opts, stdout: req.stdout });
    return error ? fail(error) : ok(undefined);
  }

  async restore(conn: Connection, req: RestoreRequest, opts: ProgressOptions = {}): Promise<Result<RestoreSummary>> {
    const inv = this.inv(conn, 'restore');
    if ('ok' in inv) return inv;
    const version = await this.binaryVersion(conn);
    const nativeJson = version !== undefined && versionAtLeast(version, '0.16.0');
    const totals: RestoreTotals = { bytes: null, files: null };
    const filtered = (req.include?.length ?? 0) + (req.exclude?.length ?? 0) > 0;
    if (!nativeJson && !filtered) {
      const st = await this.stats(conn, { mode: 'restore-size', snapshot: req.snapshot }, opts);
      if (!st.ok) return st;
      totals.bytes = st.value.totalSize;
      totals.files = st.value.totalFileCount;
    }
    return resticRestore(inv, req, opts, nativeJson, totals);
  }

  async copy(conn: Connection, req: CopyRequest, opts: ProgressOptions = {}): Promise<Result<CopySummary>> {
    const inv = this.copyInv(conn, req.from, 'copy');
    if ('ok' in inv) return inv;
    const same = await sameRepositoryError('copy', conn, req.from);
    if (same) return fail(same);
    return resticCopy(inv, conn, req, opts);
  }

  async initCopyTarget(conn: Connection, from: Connection, opts: CallOptions = {}): Promise<Result<{ id?: string }>> {
    const inv = this.copyInv(conn, from, 'init');
    if ('ok' in inv) return inv;
    const same = await sameRepositoryError('init', conn, from);
    if (same) return fail(same);
    return resticInitCopyTarget(inv, conn, from, opts);
  }

  /** The target's invocation with the source added (copy.ts), or the refusal. */
  private copyInv(conn: Connection, from: Connection, command: string): Invocation | Result<never> {
    const inv = this.inv(conn, command);
    if ('ok' in inv) return inv;
    const both = copyInvocation(command, conn, from);
    return 'kind' in both ? fail(both) : both;
  }

  async keyAdd(conn: Connection, req: KeyAddRequest, opts: CallOptions = {}): Promise<Result<{ keyId: string }>> {
    const inv = this.inv(conn, 'key add');
    if ('ok' in inv) return inv;
    return resticKeyAdd(inv, req, opts);
  }

  async keyRemove(conn: Connection, keyId: string, opts: CallOptions = {}): Promise<Result<void>> {
    if (!/^[0-9a-f]{4,64}$/.test(keyId)) return fail(libraryError('key remove', 'invalid_argument', 'key remove: keyId must be a hex key id'));
    const r = await this.simple(conn, 'key remove', ['key', 'remove', keyId], opts);
    return r.ok ? ok(undefined) : r;
  }

  /** Lists locks with holder and age; `stale` follows restic's rule (older than 30 min, or same host and the pid is gone). */
  async locks(conn: Connection, opts: CallOptions = {}): Promise<Result<RepoLock[]>> {
    const ids = await this.simple(conn, 'list locks', ['list', 'locks', '--no-lock'], opts);
    if (!ids.ok) return ids;
    const out: RepoLock[] = [];
    for (const id of ids.value.filter((l) => /^[0-9a-f]{64}$/.test(l))) {
      let lock: Record<string, unknown> | undefined;
      const r = await this.simple(conn, 'cat lock', ['cat', 'lock', id, '--no-lock'], opts, (v) => {
        if (isObj(v)) lock = v;
      });
      if (!r.ok || !lock) {
        // restic prints `cat lock` pretty-printed over several lines; re-assemble it.
        const text = r.ok ? r.value.join('') : '';
        try {
          const v: unknown = JSON.parse(text);
          if (isObj(v)) lock = v;
        } catch {
          continue; // removed meanwhile
        }
      }
      if (!lock) continue;
      const time = String(lock.time ?? '');
      const host = String(lock.hostname ?? '');
      const username = typeof lock.username === 'string' ? lock.username : '';
      const pid = typeof lock.pid === 'number' ? lock.pid : 0;
      const old = Date.now() - Date.parse(time) > STALE_LOCK_AGE_MS;
      out.push({ id, time, host, username, pid, exclusive: lock.exclusive === true, stale: old || (host === os.hostname() && !pidAlive(pid)) });
    }
    return ok(out);
  }

  async identity(conn: Connection, opts: CallOptions = {}): Promise<Result<RepoIdentity>> {
    const keys = await this.simple(conn, 'list keys', ['list', 'keys', '--no-lock'], opts);
    if (!keys.ok) return keys;
    let config: Record<string, unknown> | undefined;
    const c = await this.simple(conn, 'cat config', ['cat', 'config', '--no-lock'], opts, (v) => {
      if (isObj(v)) config = v;
    });
    if (!c.ok) return c;
    if (!config) {
      // restic prints `cat config` pretty-printed over several lines; re-assemble it.
      try {
        const v: unknown = JSON.parse(c.value.join(''));
        if (isObj(v)) config = v;
      } catch {
        // no JSON: refused below
      }
    }
    const configId = typeof config?.id === 'string' ? config.id : '';
    if (!/^[0-9a-f]{8,64}$/.test(configId)) return fail(libraryError('cat config', 'failed', 'cat config: no repository id in the output'));
    return ok({ keyIds: keys.value.filter((l) => /^[0-9a-f]{64}$/.test(l)), configId });
  }
}

/** restic 0.14's stale age (`staleTimeout`): a live restic refreshes its lock every 5 minutes. */
const STALE_LOCK_AGE_MS = 30 * 60_000;

function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
