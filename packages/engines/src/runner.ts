import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { dieWithParent } from './parent-death.js';
import type { Redactor } from './redact.js';
import type { OutputLine } from './types.js';

/** One child-process invocation. `env` is the complete environment (nothing is inherited). */
export interface RunSpec {
  binary: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  stdin?: Readable;
  /**
   * Raw stdout: the child's bytes are piped here (back-pressure: the child blocks while the
   * destination is full) instead of being split into lines. Never ended by the runner: the caller
   * decides when the data is complete (e.g. only after exit status 0).
   */
  stdout?: Writable;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Between SIGINT and SIGKILL, ms (default 5000). */
  killGraceMs?: number;
  redactor: Redactor;
  /** Raw stdout lines (not redacted: they are parsed, never logged by the runner). */
  onStdoutLine?: (line: string) => void;
  /** Raw stderr lines (not redacted: parsed, never logged by the runner). */
  onStderrLine?: (line: string) => void;
  /** Every line, redacted (stderr only with `stdoutIsData`). */
  onLine?: (line: OutputLine) => void;
  /**
   * Stdout is data (a listing, a diff), not a log: its lines go to onStdoutLine only, never to
   * onLine, so a 100,000-file `ls` is not redacted line by line and copied into a job's log.
   */
  stdoutIsData?: boolean;
  /** Called once right after spawn, with a handle to pause output or stop the child early. */
  onSpawn?: (pid: number, handle: ChildHandle) => void;
  /** Max stderr lines kept (default 50). */
  stderrTailLines?: number;
}

export interface ChildHandle {
  /** Stop reading stdout (back-pressure: the child blocks once the pipe is full). */
  pauseOutput(): void;
  resumeOutput(): void;
  /** Ask the child to stop (SIGINT, SIGKILL after the grace period) without it counting as an abort. */
  stop(): void;
}

export interface RunOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The binary could not be started (ENOENT/EACCES); message redacted. */
  spawnError?: string;
  aborted: boolean;
  timedOut: boolean;
  /** Last stderr lines, redacted. */
  stderrTail: string[];
  durationMs: number;
}

// eslint-disable-next-line no-control-regex -- terminal escape sequences are exactly what is matched
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Removes terminal control sequences (restic clears progress lines with ESC[2K). */
export function stripAnsi(line: string): string {
  return line.replace(ANSI, '');
}

/** Splits a byte stream into lines (\n or \r\n), tolerating chunk boundaries and a missing final newline. */
export class LineSplitter {
  private rest = '';
  constructor(private readonly emit: (line: string) => void) {}
  push(chunk: string): void {
    const text = this.rest + chunk;
    let start = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
      const line = text.slice(start, i);
      this.emit(line.endsWith('\r') ? line.slice(0, -1) : line);
      start = i + 1;
    }
    this.rest = text.slice(start);
  }
  end(): void {
    if (this.rest) this.emit(this.rest);
    this.rest = '';
  }
}

/**
 * Spawns the binary, streams lines, and resolves when it exits; never rejects.
 * Abort (signal) or timeout sends SIGINT, then SIGKILL after the grace period.
 * On Linux the child is killed (SIGKILL) when this process dies, however it dies
 * (`parent-death.ts`): no engine process outlives the agent.
 */
export function runProcess(spec: RunSpec): Promise<RunOutcome> {
  const started = Date.now();
  const tailMax = spec.stderrTailLines ?? 50;
  const stderrTail: string[] = [];
  let aborted = false;
  let timedOut = false;

  return new Promise<RunOutcome>((resolve) => {
    if (spec.signal?.aborted) {
      resolve({ exitCode: null, signal: null, aborted: true, timedOut: false, stderrTail, durationMs: 0 });
      return;
    }
    const cmd = dieWithParent(spec.binary, spec.args, spec.env, spec.cwd);
    const child = spawn(cmd.binary, cmd.args, {
      env: spec.env,
      cwd: spec.cwd,
      stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), spec.killGraceMs ?? 5000);
    };
    const onAbort = (): void => {
      aborted = true;
      stop();
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = spec.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, spec.timeoutMs)
      : undefined;

    const emit = (stream: 'stdout' | 'stderr', line: string): void => {
      spec.onLine?.({ stream, line: spec.redactor.redact(line), ts: new Date() });
    };
    const out = new LineSplitter((line) => {
      spec.onStdoutLine?.(line);
      if (!spec.stdoutIsData) emit('stdout', line);
    });
    const err = new LineSplitter((line) => {
      spec.onStderrLine?.(line);
      const clean = spec.redactor.redact(stripAnsi(line));
      if (clean.trim()) {
        stderrTail.push(clean);
        if (stderrTail.length > tailMax) stderrTail.shift();
      }
      emit('stderr', line);
    });
    if (spec.stdout) {
      spec.stdout.on('error', () => child.stdout?.destroy());
      child.stdout?.pipe(spec.stdout, { end: false });
    } else child.stdout?.setEncoding('utf8').on('data', (d: string) => out.push(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => err.push(d));
    if (spec.stdin && child.stdin) {
      child.stdin.on('error', () => undefined); // EPIPE when the child exits early
      spec.stdin.on('error', () => child.stdin?.destroy());
      spec.stdin.pipe(child.stdin);
    }
    if (child.pid !== undefined) {
      spec.onSpawn?.(child.pid, {
        pauseOutput: () => child.stdout?.pause(),
        resumeOutput: () => child.stdout?.resume(),
        stop,
      });
    }

    let spawnError: string | undefined;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      out.end();
      err.end();
      clearTimeout(timeout);
      clearTimeout(killTimer);
      spec.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode: code,
        signal,
        ...(spawnError !== undefined ? { spawnError } : {}),
        aborted,
        timedOut,
        stderrTail,
        durationMs: Date.now() - started,
      });
    };
    child.once('error', (e) => {
      spawnError = spec.redactor.redact(e.message);
      // A child that never started emits no 'close' reliably on every Node version.
      if (child.pid === undefined) finish(null, null);
    });
    child.once('close', finish);
    // A grandchild that inherited stdout (e.g. a password command) can keep the pipes open after the
    // child itself is gone; don't wait for it longer than a moment.
    child.once('exit', (code, signal) => {
      setTimeout(() => {
        if (settled) return;
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
      }, 1000).unref();
    });
  });
}
