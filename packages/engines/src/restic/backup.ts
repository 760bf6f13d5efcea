import { execEngine, JsonLines, fail, ok, type Invocation } from '../exec.js';
import { libraryError } from '../classify.js';
import { emptyProgress, finalBackupProgress, ProgressCoalescer, ThroughputMeter } from '../progress.js';
import type { BackupRequest, BackupSummary, ProgressOptions, Result } from '../types.js';
import { describeBackupError, isObj, parseBackupSummary, statusToProgress } from './parse.js';

const MAX_FILE_ERRORS = 100;

export function backupArgs(req: BackupRequest): string[] {
  const args = ['backup', '--json'];
  for (const e of req.excludes ?? []) args.push('--exclude', e);
  for (const f of req.excludeFiles ?? []) args.push('--exclude-file', f);
  for (const t of req.tags ?? []) args.push('--tag', t);
  if (req.host) args.push('--host', req.host);
  if (req.parent) args.push('--parent', req.parent);
  if (req.oneFileSystem) args.push('--one-file-system');
  if (req.stdin) args.push('--stdin', '--stdin-filename', req.stdin.filename);
  else args.push('--', ...req.paths);
  return args;
}

export function validateBackup(req: BackupRequest): string | undefined {
  if (req.stdin && req.paths.length > 0) return 'backup: paths must be empty when stdin is given';
  if (!req.stdin && req.paths.length === 0) return 'backup: at least one path is required';
  if (req.stdin && !req.stdin.filename) return 'backup: stdin.filename is required';
  return undefined;
}

/** `restic backup --json`. */
export function resticBackup(inv: Invocation, req: BackupRequest, opts: ProgressOptions = {}): Promise<Result<BackupSummary>> {
  return jsonLinesBackup(withStatusRate(inv, opts.progressIntervalMs ?? 500), backupArgs(req), req, opts);
}

/**
 * A backup whose stdout is restic's JSON lines (`restic backup --json`, and `rustic --json-progress
 * backup`, which speaks the same status/summary messages): status lines become coalesced Progress
 * events, error lines are kept (capped) in the summary, and a run that ends without a summary
 * message is an error.
 */
export async function jsonLinesBackup(inv: Invocation, args: string[], req: BackupRequest, opts: ProgressOptions = {}): Promise<Result<BackupSummary>> {
  const invalid = validateBackup(req);
  if (invalid) return fail(libraryError('backup', 'invalid_argument', invalid));
  const coalescer = new ProgressCoalescer(opts.onProgress, opts.progressIntervalMs ?? 500);
  const meter = new ThroughputMeter();
  const fileErrors: string[] = [];
  let errorCount = 0;
  let summaryMsg: Record<string, unknown> | undefined;
  let lastProgress = emptyProgress();
  const started = Date.now();

  const onMessage = (v: unknown): void => {
    if (!isObj(v)) return;
    if (v.message_type === 'status') {
      const t = Date.now() - started;
      lastProgress = statusToProgress(v, meter.sample(t, typeof v.bytes_done === 'number' ? v.bytes_done : 0), t / 1000);
      coalescer.push(lastProgress);
    } else if (v.message_type === 'summary') summaryMsg = v;
    else if (v.message_type === 'error') {
      errorCount++;
      if (fileErrors.length < MAX_FILE_ERRORS) fileErrors.push(inv.redactor.redact(describeBackupError(v)));
    }
  };
  const lines = new JsonLines(inv.redactor, onMessage);
  // restic 0.14 writes the per-file error messages as JSON lines to stderr.
  const onStderrLine = (line: string): void => {
    if (!line.startsWith('{"message_type"')) return;
    try {
      onMessage(JSON.parse(line));
    } catch {
      // not JSON after all: it stays in the stderr tail
    }
  };
  const { run, error } = await execEngine(inv, 'backup', args, {
    ...opts,
    ...(req.stdin ? { stdin: req.stdin.stream } : {}),
    onStdoutLine: lines.line,
    onStderrLine,
  });
  if (errorCount > fileErrors.length) fileErrors.push(`... and ${errorCount - fileErrors.length} more`);
  const summary = summaryMsg ? parseBackupSummary(summaryMsg, fileErrors) : undefined;
  if (summary) {
    coalescer.flush({ ...finalBackupProgress(lastProgress, summary, summary.durationSeconds || (Date.now() - started) / 1000), errorCount });
  } else coalescer.flush();

  const diagnostics = lines.diagnostics.length ? { diagnostics: lines.diagnostics } : {};
  if (error) {
    if (error.kind === 'partial' && summary) return fail({ ...error, ...diagnostics, summary, message: `${error.message} (snapshot ${summary.snapshotId} was saved; ${errorCount} file(s) unreadable)` });
    return fail({ ...error, ...diagnostics });
  }
  if (!summary) {
    const why = lines.diagnostics.at(-1) ?? run.stderrTail.at(-1) ?? 'no output';
    return fail({ ...libraryError('backup', 'failed', `backup ended without a summary message (last output: ${why})`, run.stderrTail, run.exitCode), ...diagnostics });
  }
  return ok(summary);
}

/**
 * restic 0.14 prints `--json` status lines at 60 per second unless RESTIC_PROGRESS_FPS says
 * otherwise; progress is coalesced to one event per `intervalMs` anyway, so ask for about two
 * status lines per event: less JSON for restic to write and for us to parse while it competes
 * for the same cores. A caller's own RESTIC_PROGRESS_FPS wins.
 */
export function withStatusRate(inv: Invocation, intervalMs: number): Invocation {
  if (inv.env.RESTIC_PROGRESS_FPS) return inv;
  const fps = Math.max(1, Math.min(60, Math.ceil(2000 / Math.max(1, intervalMs))));
  return { ...inv, env: { ...inv.env, RESTIC_PROGRESS_FPS: String(fps) } };
}
