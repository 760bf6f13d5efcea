import { execEngine, JsonLines, fail, ok, type Invocation } from '../exec.js';
import { emptyProgress, ProgressCoalescer, ThroughputMeter } from '../progress.js';
import { isObj } from '../restic/parse.js';
import type { Progress, ProgressOptions, RestoreRequest, RestoreSummary, Result } from '../types.js';
import { parseRusticRestoreFiles } from './parse.js';

/**
 * restic's include/exclude name a path and everything below it; a rustic glob matches only the
 * node itself (rustic-rs 0.11.4: `--glob /srv/a` restores no file of /srv/a, `--glob !/srv/a`
 * excludes none), so each pattern also gets its `/**` twin.
 */
export function rusticRestoreArgs(req: RestoreRequest): string[] {
  const args = ['restore'];
  for (const i of req.include ?? []) args.push('--glob', i, '--glob', `${i.replace(/\/+$/, '')}/**`);
  for (const e of req.exclude ?? []) args.push('--glob', `!${e}`, '--glob', `!${e.replace(/\/+$/, '')}/**`);
  if (req.verify) args.push('--verify-existing');
  args.push('--', req.snapshot, req.target);
  return args;
}

/**
 * `rustic --json-progress restore`: stdout has restic-style status lines (`percent_done`,
 * `bytes_done`, `total_bytes`; no file counts) and the plan as text, `Files:  3 to restore, 0
 * unchanged, 0 verified, 0 to modify, 0 additional`, which gives `filesRestored` (files to write;
 * symlinks and directories are not counted). There is no summary message: the last status line
 * gives the bytes.
 */
export async function rusticRestore(inv: Invocation, req: RestoreRequest, opts: ProgressOptions): Promise<Result<RestoreSummary>> {
  const coalescer = new ProgressCoalescer(opts.onProgress, opts.progressIntervalMs ?? 500);
  const meter = new ThroughputMeter();
  const started = Date.now();
  let last: Progress = emptyProgress();
  let files: number | null = null;
  const lines = new JsonLines(inv.redactor, (v) => {
    if (!isObj(v) || v.message_type !== 'status') return;
    const t = Date.now() - started;
    const bytes = typeof v.bytes_done === 'number' ? v.bytes_done : last.bytesDone;
    const totalBytes = typeof v.total_bytes === 'number' ? v.total_bytes : last.totalBytes;
    const throughputBps = meter.sample(t, bytes);
    last = {
      ...last,
      percentDone: typeof v.percent_done === 'number' ? Math.min(1, Math.max(0, v.percent_done)) : last.percentDone,
      bytesDone: bytes,
      totalBytes,
      elapsedSeconds: t / 1000,
      throughputBps,
      etaSeconds: totalBytes !== null && throughputBps ? Math.max(0, (totalBytes - bytes) / throughputBps) : null,
    };
    coalescer.push(last);
  });
  const { error } = await execEngine(inv, 'restore', rusticRestoreArgs(req), {
    ...opts,
    onStdoutLine: (line) => {
      const n = parseRusticRestoreFiles(line);
      if (n !== undefined) {
        files = n;
        last = { ...last, totalFiles: n };
      } else lines.line(line);
    },
  });
  if (error) {
    coalescer.flush();
    return fail(error);
  }
  const summary: RestoreSummary = { filesRestored: files, bytesRestored: last.totalBytes ?? last.bytesDone, durationSeconds: (Date.now() - started) / 1000 };
  coalescer.flush({ ...last, percentDone: 1, bytesDone: summary.bytesRestored, totalBytes: summary.bytesRestored, filesDone: files ?? 0, etaSeconds: 0, elapsedSeconds: summary.durationSeconds });
  return ok(summary);
}
