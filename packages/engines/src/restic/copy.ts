import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { execEngine, JsonLines, fail, ok, type Invocation } from '../exec.js';
import { libraryError } from '../classify.js';
import { emptyProgress, ProgressCoalescer, ThroughputMeter } from '../progress.js';
import { Redactor, redactUrl } from '../redact.js';
import type { CallOptions, Connection, CopyRequest, CopySummary, EngineError, OutputLine, Progress, ProgressOptions, Result } from '../types.js';
import { withStatusRate } from './backup.js';
import { baseEnv, connectionSecrets, missingPassword, resticInvocation } from './connection.js';
import { bytesWritten } from './restore.js';

/*
 * restic 0.14 `copy` / `init --copy-chunker-params` (doc: "Copying snapshots between
 * repositories"). The target is restic's own repository (`-r`, here RESTIC_REPOSITORY); the
 * source is the "from" repository, given only through RESTIC_FROM_REPOSITORY and
 * RESTIC_FROM_PASSWORD / _FILE / _COMMAND, so neither its location nor its password is in argv.
 */

/** The source's variables, renamed to their `--from-*` equivalents. */
const FROM_ENV: Readonly<Record<string, string>> = {
  RESTIC_REPOSITORY: 'RESTIC_FROM_REPOSITORY',
  RESTIC_PASSWORD: 'RESTIC_FROM_PASSWORD',
  RESTIC_PASSWORD_FILE: 'RESTIC_FROM_PASSWORD_FILE',
  RESTIC_PASSWORD_COMMAND: 'RESTIC_FROM_PASSWORD_COMMAND',
};

/**
 * One invocation for a target and a source. Backend variables (AWS_*, B2_*, …) are shared by
 * both repositories in restic 0.14, so the source's are added only where the target has none
 * or the same value; a conflict is refused, naming the variable (never its value).
 */
export function copyInvocation(command: string, target: Connection, from: Connection): Invocation | EngineError {
  if (!from.repository) return libraryError(command, 'invalid_argument', `${command}: the source connection's repository is required`);
  if (missingPassword(from)) return libraryError(command, 'invalid_argument', `${command}: the source connection needs password, passwordFile or passwordCommand`);
  const inv = resticInvocation(target);
  const src = resticInvocation(from);
  const base = baseEnv();
  for (const [k, v] of Object.entries(src.env)) {
    if (base[k] === v) continue;
    const renamed = FROM_ENV[k];
    if (renamed) inv.env[renamed] = v;
    else if (k.startsWith('RESTIC_')) continue; // the source's tuning (pack size, …) is no business of the target
    else if (inv.env[k] !== undefined && inv.env[k] !== base[k] && inv.env[k] !== v) {
      return libraryError(command, 'invalid_argument', `${command}: the source and the target need different values of ${k}, and restic 0.14 gives both repositories the same environment; copy through a repository without such credentials, or with the same ones`);
    } else inv.env[k] = v;
  }
  for (let i = 0; i < src.globalArgs.length - 1; i++) {
    if (src.globalArgs[i] === '--cacert') inv.globalArgs.push('--cacert', src.globalArgs[i + 1]!);
  }
  return { ...inv, redactor: new Redactor([...connectionSecrets(target), ...connectionSecrets(from)]) };
}

/** A location normalised for comparison: credentials dropped, local paths resolved, no trailing slash. */
async function locationKey(repo: string): Promise<string> {
  const local = repo.startsWith('local:') ? repo.slice('local:'.length) : /^[a-z0-9]+:/i.test(repo) ? null : repo;
  if (local !== null) {
    const abs = path.resolve(local);
    return 'local:' + (await realpath(abs).catch(() => abs));
  }
  if (repo.startsWith('rest:')) {
    try {
      const u = new URL(repo.slice('rest:'.length));
      u.username = '';
      u.password = '';
      return 'rest:' + u.toString().replace(/\/+$/, '');
    } catch {
      // fall through: compared as written
    }
  }
  return repo.replace(/\/+$/, '');
}

/** Refuses a copy whose source and target are the same location (restic would "copy" every snapshot onto itself). */
export async function sameRepositoryError(command: string, target: Connection, from: Connection): Promise<EngineError | null> {
  if ((await locationKey(target.repository)) !== (await locationKey(from.repository))) return null;
  return libraryError(command, 'invalid_argument', `${command}: the source and the target are the same repository (${redactUrl(target.repository)}); a copy needs two different repositories`);
}

const SNAPSHOT = /^snapshot ([0-9a-f]+) of \[(.*)\] at /;
const SAVED = /^snapshot ([0-9a-f]+) saved/;
const SKIPPED = /^skipping (?:source )?snapshot ([0-9a-f]+), was already copied to snapshot ([0-9a-f]+)/;
/** `[0:03] 45.00%  9 / 20 packs copied`, or `[0:00]          0 packs copied` when there is nothing to copy. */
const PACKS = /^\[[\d:]+\]\s+(?:[\d.]+%\s+)?(\d+)(?:\s*\/\s*(\d+))?\s+packs copied/;
const MAX_PAIRS = 1000;

/** Reads restic copy's text output: counts snapshots and the packs of the one being copied. */
export class CopyOutput {
  copied = 0;
  skipped = 0;
  current: { id: string; label: string } | null = null;
  /** 0..1 of the current snapshot's packs. */
  fraction = 0;
  readonly pairs: { source: string; target: string }[] = [];

  /** True when the line changed the state (worth a progress event). */
  line(raw: string): boolean {
    const l = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = SNAPSHOT.exec(l))) {
      this.current = { id: m[1]!, label: `snapshot ${m[1]!} of [${m[2]!}]` };
      this.fraction = 0;
    } else if ((m = PACKS.exec(l))) {
      const done = Number(m[1]);
      const total = m[2] !== undefined ? Number(m[2]) : 0;
      this.fraction = total > 0 ? Math.min(1, done / total) : 0;
    } else if ((m = SAVED.exec(l))) {
      this.copied++;
      if (this.pairs.length < MAX_PAIRS) this.pairs.push({ source: this.current?.id ?? '', target: m[1]! });
      this.current = null;
      this.fraction = 0;
    } else if (SKIPPED.test(l)) {
      this.skipped++;
      this.current = null;
      this.fraction = 0;
    } else return false;
    return true;
  }

  get done(): number {
    return this.copied + this.skipped;
  }
}

/**
 * The source's snapshots are counted (for the percentage) only once a copy has run this long:
 * the count is a second restic process deriving the key again (~0.5 s of CPU), which would
 * otherwise cost short copies a good part of their time. Until then the percentage is that of
 * the current snapshot's packs.
 */
export const COUNT_AFTER_MS = 2000;

/** Number of source snapshots the copy will consider (for the percentage), or null when it cannot be read. */
async function countSource(from: Connection, req: CopyRequest, opts: CallOptions): Promise<number | null> {
  const inv = resticInvocation(from);
  let n: number | null = null;
  const lines = new JsonLines(inv.redactor, (v) => {
    if (Array.isArray(v)) n = v.length;
  });
  const { error } = await execEngine(inv, 'snapshots', ['snapshots', '--json', '--no-lock', ...filterFlags(req)], {
    ...(opts.signal ? { signal: opts.signal } : {}),
    onStdoutLine: lines.line,
  });
  return error ? null : n;
}

function filterFlags(req: CopyRequest): string[] {
  const args: string[] = [];
  for (const h of req.hosts ?? []) args.push('--host', h);
  if (req.tags?.length) args.push('--tag', req.tags.join(','));
  return args;
}

/** Which repository a "no repository"/"wrong password" failure is about, when restic's lines say so. */
function sideOf(e: EngineError, target: Connection, from: Connection): EngineError {
  if (e.kind !== 'no_repository' && e.kind !== 'wrong_password') return e;
  const said = (loc: string): boolean => e.stderrTail.some((l) => l.trim() === redactUrl(loc) || l.includes(`stat ${loc}/`));
  const side = said(from.repository) ? 'the source repository' : said(target.repository) ? 'the target repository' : 'the source or the target repository (restic does not say which)';
  return { ...e, message: `${e.message} (${side})` };
}

/**
 * `restic copy`: progress counts snapshots (`filesDone`/`totalFiles`, the total from
 * `req.expectedSnapshots` or else read in parallel from the source's snapshot list once the copy
 * has run COUNT_AFTER_MS), `percentDone` includes the current snapshot's packs, and
 * `bytesDone` is what restic wrote so far (/proc/<pid>/io). Pack counter lines reach `onLine`
 * only as the last one before each snapshot's result, not at the status rate.
 */
export async function resticCopy(inv: Invocation, target: Connection, req: CopyRequest, opts: ProgressOptions): Promise<Result<CopySummary>> {
  const interval = opts.progressIntervalMs ?? 500;
  const started = Date.now();
  const out = new CopyOutput();
  const coalescer = new ProgressCoalescer(opts.onProgress, interval);
  const meter = new ThroughputMeter();
  let total: number | null = req.expectedSnapshots ?? null;
  let bytes = 0;
  const progress = (): Progress => {
    const t = Date.now() - started;
    const pct = total ? Math.min(0.99, (out.done + out.fraction) / Math.max(total, out.done + 1)) : out.fraction * 0.99;
    return {
      ...emptyProgress(),
      percentDone: pct,
      filesDone: out.done,
      totalFiles: total,
      bytesDone: bytes,
      elapsedSeconds: t / 1000,
      throughputBps: meter.sample(t, bytes),
      currentFiles: out.current ? [out.current.label] : [],
    };
  };
  let counting: NodeJS.Timeout | undefined;
  if (opts.onProgress) inv = withStatusRate(inv, interval);
  if (opts.onProgress && total === null) {
    counting = setTimeout(() => {
      void countSource(req.from, req, opts).then((n) => {
        total = n;
      });
    }, COUNT_AFTER_MS);
  }
  let held: OutputLine | null = null;
  const onLine = opts.onLine;
  const forward = onLine
    ? (l: OutputLine): void => {
        if (l.stream === 'stdout' && PACKS.test(l.line.trim())) {
          held = l;
          return;
        }
        if (held) onLine(held);
        held = null;
        onLine(l);
      }
    : undefined;
  let poll: NodeJS.Timeout | undefined;
  const { error } = await execEngine(inv, 'copy', ['copy', ...filterFlags(req)], {
    ...opts,
    ...(forward ? { onLine: forward } : {}),
    onStdoutLine: (l) => {
      if (out.line(l)) coalescer.push(progress());
    },
    onSpawn: (pid) => {
      if (!opts.onProgress) return;
      poll = setInterval(() => {
        void bytesWritten(pid).then((w) => {
          if (w === null) return;
          bytes = w;
          coalescer.push(progress());
        });
      }, Math.max(100, Math.min(interval, 1000)));
    },
  });
  clearInterval(poll);
  clearTimeout(counting);
  if (held) onLine?.(held);
  if (error) {
    coalescer.flush();
    return fail(sideOf(error, target, req.from));
  }
  const durationSeconds = (Date.now() - started) / 1000;
  coalescer.flush({ ...progress(), percentDone: 1, totalFiles: out.done, etaSeconds: 0, currentFiles: [] });
  return ok({ copied: out.copied, skipped: out.skipped, snapshots: out.pairs, durationSeconds });
}

/** `restic init --copy-chunker-params`: the target gets the source's chunker parameters. */
export async function resticInitCopyTarget(inv: Invocation, target: Connection, from: Connection, opts: CallOptions): Promise<Result<{ id?: string }>> {
  const lines: string[] = [];
  const { error } = await execEngine(inv, 'init', ['init', '--copy-chunker-params'], { ...opts, onStdoutLine: (l) => lines.push(l) });
  if (error) return fail(sideOf(error, target, from));
  const id = lines.map((l) => /created restic repository ([0-9a-f]+)/.exec(l)?.[1]).find(Boolean);
  return ok(id ? { id } : {});
}
