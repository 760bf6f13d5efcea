/** What the dump and restore tools share: run_as and the environment they start with, and how they are watched. */
import type { ChildProcess } from 'node:child_process';
import { LineSplitter } from '@restic-manager/engines';
import type { ToolCommand } from './commands.js';
import { lookupUser } from '../jobs/users.js';

/** How a dump tool ended. `error` is its last stderr line (redacted) when it failed. */
export interface DumpExit {
  ok: boolean;
  exitCode: number | null;
  error: string | null;
}

export interface DumpProcessOptions {
  /** The base environment (PATH, LANG...); the command's own env (password) is added to it. */
  baseEnv: Record<string, string>;
  /** Each stderr line, already redacted. */
  onStderr: (line: string) => void;
  redact: (s: string) => string;
}

export interface ToolLaunch {
  env: NodeJS.ProcessEnv;
  /** spawn() options that drop to the run_as user (libuv drops uid/gid and supplementary groups before exec). */
  identity: { uid: number; gid: number; cwd: string } | Record<string, never>;
}

/** The environment and identity a tool runs with, or an error when its run_as user does not exist. */
export function toolLaunch(cmd: ToolCommand, baseEnv: NodeJS.ProcessEnv): ToolLaunch | { error: string } {
  const env = { ...baseEnv, ...cmd.env };
  if (!cmd.runAs) return { env, identity: {} };
  const u = lookupUser(cmd.runAs);
  if (!u) return { error: `run_as user '${cmd.runAs}' does not exist on this host` };
  Object.assign(env, { HOME: u.home, USER: u.name, LOGNAME: u.name });
  return { env, identity: { uid: u.uid, gid: u.gid, cwd: '/' } };
}

export interface ToolWatch {
  /** Resolves once the tool ended. Never rejects. `error` is its last stderr line (redacted) when it failed. */
  exited: Promise<DumpExit>;
  /** SIGTERM, then SIGKILL after 5 s. */
  kill(): void;
}

/**
 * Watches a spawned dump or restore tool: its stderr line by line (redacted, to `onStderr`; the
 * last line becomes the error), and how it ended. `onEnd(ok)` runs once it has ended, just
 * before `exited` resolves.
 */
export function watchTool(child: ChildProcess, binary: string, o: Pick<DumpProcessOptions, 'redact' | 'onStderr'>, onEnd: (ok: boolean) => void): ToolWatch {
  let last: string | null = null;
  let spawnError: string | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const err = new LineSplitter((line) => {
    const clean = o.redact(line.trim());
    if (!clean) return;
    last = clean;
    o.onStderr(clean);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => err.push(d));
  const exited = new Promise<DumpExit>((resolve) => {
    child.once('error', (e) => {
      spawnError = o.redact(`${binary}: ${e.message}`);
      if (child.pid === undefined) {
        onEnd(false);
        resolve({ ok: false, exitCode: null, error: spawnError });
      }
    });
    child.once('close', (code, signal) => {
      err.end();
      clearTimeout(killTimer);
      onEnd(code === 0);
      if (code === 0) return resolve({ ok: true, exitCode: 0, error: null });
      resolve({ ok: false, exitCode: code, error: spawnError ?? last ?? (signal ? `killed by ${signal}` : `exit status ${code ?? '?'}`) });
    });
  });
  return {
    exited,
    kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), 5000);
    },
  };
}
