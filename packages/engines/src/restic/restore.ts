import { readFile } from 'node:fs/promises';
import { execEngine, JsonLines, fail, ok, type Invocation } from '../exec.js';
import { emptyProgress, ProgressCoalescer, ThroughputMeter } from '../progress.js';
import type { Progress, ProgressOptions, RestoreRequest, RestoreSummary, Result } from '../types.js';
import { isObj } from './parse.js';
import { RestoreFailures } from './restore-failures.js';

/** Bytes the process has written so far (Linux /proc/<pid>/io `wchar`), or null where unavailable. */
export async function bytesWritten(pid: number): Promise<number | null> {
  try {
    const io = await readFile(`/proc/${pid}/io`, 'utf8');
    const m = /^wchar:\s*(\d+)/m.exec(io);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function restoreArgs(req: RestoreRequest, json: boolean): string[] {
  const args = ['restore', req.snapshot, '--target', req.target];
  for (const i of req.include ?? []) args.push('--include', i);
  for (const e of req.exclude ?? []) args.push('--exclude', e);
  if (req.verify) args.push('--verify');
  if (json) args.push('--json');
  return args;
}

export interface RestoreTotals {
  bytes: number | null;
  files: number | null;
}

/**
 * restic restore with honest progress.
 * - restic >= 0.16 (`nativeJson`): parses `restore --json` status/summary messages.
 * - restic 0.14/0.15 (no JSON): polls the child's written-bytes counter (/proc/<pid>/io wchar;
 *   restic pre-allocates files, so sizes under the target say nothing) against the snapshot's
 *   restore size from `stats --mode restore-size` (`totals`, unknown when include/exclude are set).
 */
export async function resticRestore(
  inv: Invocation,
  req: RestoreRequest,
  opts: ProgressOptions,
  nativeJson: boolean,
  totals: RestoreTotals,
): Promise<Result<RestoreSummary>> {
  const interval = opts.progressIntervalMs ?? 500;
  const coalescer = new ProgressCoalescer(opts.onProgress, interval);
  const meter = new ThroughputMeter();
  const started = Date.now();
  let last: Progress = { ...emptyProgress(), totalBytes: totals.bytes, totalFiles: totals.files };
  let summaryMsg: Record<string, unknown> | undefined;
  let poll: NodeJS.Timeout | undefined;

  const lines = new JsonLines(inv.redactor, (v) => {
    if (!isObj(v)) return;
    if (v.message_type === 'status') {
      const bytes = typeof v.bytes_restored === 'number' ? v.bytes_restored : 0;
      last = {
        ...last,
        percentDone: typeof v.percent_done === 'number' ? v.percent_done : last.percentDone,
        filesDone: typeof v.files_restored === 'number' ? v.files_restored : last.filesDone,
        totalFiles: typeof v.total_files === 'number' ? v.total_files : last.totalFiles,
        bytesDone: bytes,
        totalBytes: typeof v.total_bytes === 'number' ? v.total_bytes : last.totalBytes,
        elapsedSeconds: typeof v.seconds_elapsed === 'number' ? v.seconds_elapsed : (Date.now() - started) / 1000,
        throughputBps: meter.sample(Date.now() - started, bytes),
      };
      last.etaSeconds = eta(last);
      coalescer.push(last);
    } else if (v.message_type === 'summary') summaryMsg = v;
  });

  const failures = new RestoreFailures(inv.redactor);
  const { error } = await execEngine(inv, 'restore', restoreArgs(req, nativeJson), {
    ...opts,
    onStdoutLine: lines.line,
    onStderrLine: failures.line,
    onSpawn: (pid) => {
      if (nativeJson || !opts.onProgress) return;
      poll = setInterval(() => {
        void bytesWritten(pid).then((w) => {
          if (w === null) return;
          const bytes = totals.bytes !== null ? Math.min(w, totals.bytes) : w;
          const t = Date.now() - started;
          last = { ...last, bytesDone: bytes, elapsedSeconds: t / 1000, throughputBps: meter.sample(t, bytes) };
          last.percentDone = totals.bytes ? Math.min(0.99, bytes / totals.bytes) : 0;
          last.etaSeconds = eta(last);
          coalescer.push(last);
        });
      }, Math.max(100, Math.min(interval, 1000)));
    },
  });
  clearInterval(poll);
  if (error) {
    coalescer.flush();
    return fail(failures.count > 0 ? { ...error, failedFiles: failures.files, failedFileCount: failures.count } : error);
  }
  const durationSeconds = (Date.now() - started) / 1000;
  const filtered = (req.include?.length ?? 0) + (req.exclude?.length ?? 0) > 0;
  const summary: RestoreSummary = summaryMsg
    ? {
        filesRestored: typeof summaryMsg.files_restored === 'number' ? summaryMsg.files_restored : null,
        bytesRestored: typeof summaryMsg.bytes_restored === 'number' ? summaryMsg.bytes_restored : last.bytesDone,
        durationSeconds: typeof summaryMsg.seconds_elapsed === 'number' ? summaryMsg.seconds_elapsed : durationSeconds,
      }
    : {
        filesRestored: null,
        bytesRestored: !filtered && totals.bytes !== null ? totals.bytes : last.bytesDone,
        durationSeconds,
      };
  coalescer.flush({
    ...last,
    percentDone: 1,
    bytesDone: summary.bytesRestored,
    totalBytes: last.totalBytes ?? summary.bytesRestored,
    filesDone: summary.filesRestored ?? last.filesDone,
    etaSeconds: 0,
    elapsedSeconds: summary.durationSeconds,
  });
  return ok(summary);
}

function eta(p: Progress): number | null {
  if (p.totalBytes === null || !p.throughputBps) return null;
  return Math.max(0, (p.totalBytes - p.bytesDone) / p.throughputBps);
}
