import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LineSplitter } from '@restic-manager/engines';
import type { ToolCommand } from './commands.js';
import type { DumpExit, DumpProcessOptions } from './dump-process.js';
import { toolLaunch } from './tool-spawn.js';

export interface ClientProcess {
  /** Resolves once the tool exited. Never rejects. `error` is its last stderr line (redacted). */
  exited: Promise<DumpExit>;
  pid: number | undefined;
  /** SIGTERM, then SIGKILL after 5 s: the tool's server session ends and an open transaction rolls back. */
  kill(): void;
  /** Whether the tool has exited. */
  done(): boolean;
}

/**
 * Starts a restore tool (psql, pg_restore, mariadb) reading `stdin` through a pipe (back-pressure:
 * `stdin` is paused while the tool is busy), stdout discarded, stderr read line by line. The pipe
 * into the tool is ended only when `stdin` ends, so the tool sees end-of-file only for a whole
 * dump (the caller ends `stdin` only after `restic dump` exited 0).
 */
export function startClient(cmd: ToolCommand, stdin: Readable, o: DumpProcessOptions): ClientProcess {
  let last: string | null = null;
  let finished = false;
  const failed = (error: string): ClientProcess => {
    finished = true;
    return { exited: Promise.resolve({ ok: false, exitCode: null, error }), pid: undefined, kill: () => undefined, done: () => true };
  };
  const launch = toolLaunch(cmd, o.baseEnv);
  if ('error' in launch) return failed(launch.error);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(cmd.binary, cmd.args, { env: launch.env, stdio: ['pipe', 'ignore', 'pipe'], ...launch.identity });
  } catch (err) {
    return failed(o.redact(`${cmd.binary}: ${(err as Error).message}`));
  }
  const err = new LineSplitter((line) => {
    const clean = o.redact(line.trim());
    if (!clean) return;
    last = clean;
    o.onStderr(clean);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => err.push(d));
  child.stdin!.on('error', () => undefined); // EPIPE when the tool exits before reading everything
  stdin.pipe(child.stdin!);
  let spawnError: string | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const exited = new Promise<DumpExit>((resolve) => {
    child.once('error', (e) => {
      spawnError = o.redact(`${cmd.binary}: ${e.message}`);
      if (child.pid === undefined) {
        finished = true;
        resolve({ ok: false, exitCode: null, error: spawnError });
      }
    });
    child.once('close', (code, signal) => {
      finished = true;
      err.end();
      clearTimeout(killTimer);
      stdin.unpipe(child.stdin!);
      if (code === 0) return resolve({ ok: true, exitCode: 0, error: null });
      resolve({ ok: false, exitCode: code, error: spawnError ?? last ?? (signal ? `killed by ${signal}` : `exit status ${code ?? '?'}`) });
    });
  });
  return {
    exited,
    pid: child.pid,
    done: () => finished,
    kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), 5000);
    },
  };
}
