import { readFileSync } from 'node:fs';
import { runProcess, type ChildHandle, type RunOutcome } from './runner.js';
import { classify } from './classify.js';
import type { Redactor } from './redact.js';
import type { CallOptions, EngineError, Result } from './types.js';
import type { Readable, Writable } from 'node:stream';

/** Everything needed to start one engine process for a Connection (built per call, never logged). */
export interface Invocation {
  binary: string;
  env: Record<string, string>;
  /** Non-secret global flags (cache, limits, cacert). */
  globalArgs: string[];
  redactor: Redactor;
  timeoutMs?: number;
  /** See Connection.helperLogs. */
  helperLogs?: string[];
  /** Rewrites a classified error, for engines whose stderr needs more than `classify` knows (rustic). */
  refineError?: (e: EngineError) => EngineError;
}

export interface ExecOptions extends CallOptions {
  stdin?: Readable;
  /** Raw stdout bytes go here instead of onStdoutLine (see RunSpec.stdout). */
  stdout?: Writable;
  /** Raw stdout lines. */
  onStdoutLine?: (line: string) => void;
  /** See RunSpec.stdoutIsData. */
  stdoutIsData?: boolean;
  /** Raw stderr lines (restic <= 0.16 writes backup error messages as JSON to stderr). */
  onStderrLine?: (line: string) => void;
  onSpawn?: (pid: number, handle: ChildHandle) => void;
}

export interface ExecResult {
  run: RunOutcome;
  /** Undefined when the command exited 0. */
  error?: EngineError;
}

/** Runs `<binary> <globalArgs> <args>` and classifies the outcome. Never rejects. */
export async function execEngine(inv: Invocation, command: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const run = await runProcess({
    binary: inv.binary,
    args: [...inv.globalArgs, ...args],
    env: inv.env,
    redactor: inv.redactor,
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
    ...(opts.stdout ? { stdout: opts.stdout } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.timeoutMs ?? inv.timeoutMs ? { timeoutMs: opts.timeoutMs ?? inv.timeoutMs } : {}),
    ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}),
    ...(opts.onStdoutLine ? { onStdoutLine: opts.onStdoutLine } : {}),
    ...(opts.stdoutIsData ? { stdoutIsData: true } : {}),
    ...(opts.onStderrLine ? { onStderrLine: opts.onStderrLine } : {}),
    ...(opts.onLine ? { onLine: opts.onLine } : {}),
    ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
  });
  const helper = run.exitCode !== 0 ? helperLogTail(inv) : [];
  for (const line of helper) run.stderrTail.push(line);
  const classified = classify(command, run, inv.binary);
  const error = classified && inv.refineError ? inv.refineError(classified) : classified;
  // restic's own line for a helper failure is often just "EOF": the helper's last word says why.
  if (error && helper.length > 0 && !error.message.includes(helper.at(-1)!)) error.message = `${error.message} (${helper.at(-1)!})`;
  return error ? { run, error } : { run };
}

/** The last lines of the helpers' log files, redacted and prefixed with the file's name. */
function helperLogTail(inv: Invocation, max = 20): string[] {
  const out: string[] = [];
  for (const file of inv.helperLogs ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const name = file.split('/').pop() ?? file;
    for (const l of text.split('\n').filter((x) => x.trim() !== '').slice(-max)) out.push(inv.redactor.redact(`${name}: ${l.trim()}`));
  }
  return out;
}

/**
 * Collects stdout: JSON lines go to `onJson`, anything else is kept (redacted, capped) as a
 * diagnostic. Lines are parsed only when they look like JSON, so text output costs little.
 */
export class JsonLines {
  readonly diagnostics: string[] = [];
  dropped = 0;
  constructor(
    private readonly redactor: Redactor,
    private readonly onJson: (v: unknown) => void,
    private readonly cap = 200,
  ) {}

  readonly line = (line: string): void => {
    const t = line.trim();
    if (!t) return;
    if (t.startsWith('{') || t.startsWith('[')) {
      try {
        this.onJson(JSON.parse(t));
        return;
      } catch {
        // fall through: keep it as a diagnostic
      }
    }
    if (this.diagnostics.length < this.cap) this.diagnostics.push(this.redactor.redact(t));
    else this.dropped++;
  };
}

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T>(error: EngineError): Result<T> => ({ ok: false, error });
