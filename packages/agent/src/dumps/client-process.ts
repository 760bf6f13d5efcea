import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ToolCommand } from './commands.js';
import type { DumpExit, DumpProcessOptions } from './dump-process.js';
import { toolLaunch, watchTool } from './tool-spawn.js';

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
  child.stdin!.on('error', () => undefined); // EPIPE when the tool exits before reading everything
  stdin.pipe(child.stdin!);
  const watch = watchTool(child, cmd.binary, o, () => {
    finished = true;
    stdin.unpipe(child.stdin!);
  });
  return { exited: watch.exited, pid: child.pid, done: () => finished, kill: watch.kill };
}
