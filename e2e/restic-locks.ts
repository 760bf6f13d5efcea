/**
 * Real restic locks for the stale-lock tests (issue 22): a live one (a `restic backup --stdin`
 * waiting on its input holds a shared lock) and a stale one (the same, killed -9: restic had no
 * chance to remove its lock, and its PID is gone on this host).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './agent-harness.js';

const run = promisify(execFile);

export interface HeldLock {
  proc: ChildProcess;
  pid: number;
  /** The lock file's id (64 hex). */
  id: string;
}

const env = (password: string): NodeJS.ProcessEnv => ({ ...process.env, RESTIC_PASSWORD: password });

/** The id of the lock whose holder has `pid`, read with restic itself (`list locks`, `cat lock`, no lock taken). */
async function lockOfPid(repo: string, password: string, pid: number): Promise<string | null> {
  const { stdout } = await run('restic', ['-r', repo, '--no-cache', 'list', 'locks', '--no-lock'], { env: env(password) });
  for (const id of stdout.split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l))) {
    const cat = await run('restic', ['-r', repo, '--no-cache', 'cat', 'lock', id, '--no-lock'], { env: env(password) }).catch(() => null);
    if (cat && (JSON.parse(cat.stdout) as { pid?: number }).pid === pid) return id;
  }
  return null;
}

/** Starts `restic backup --stdin` and resolves once its lock is in the repository (the process keeps it while stdin stays open). */
export async function holdLock(repo: string, password: string): Promise<HeldLock> {
  const proc = spawn('restic', ['-r', repo, '--no-cache', 'backup', '--stdin', '--stdin-filename', 'held.bin'], { env: env(password), stdio: ['pipe', 'ignore', 'ignore'] });
  proc.stdin!.write('holding a lock\n');
  const pid = proc.pid!;
  const id = await eventually(() => (proc.exitCode !== null ? Promise.reject(new Error(`restic exited with ${String(proc.exitCode)}`)) : lockOfPid(repo, password, pid)), 20_000, 'restic backup --stdin to take its lock');
  return { proc, pid, id };
}

/** A stale lock: a holder killed -9 (same host, PID gone). Resolves once the process is gone; its lock stays. */
export async function leaveStaleLock(repo: string, password: string): Promise<{ pid: number; id: string }> {
  const held = await holdLock(repo, password);
  await stop(held.proc, 'SIGKILL');
  return { pid: held.pid, id: held.id };
}

/** Signals a holder and resolves once it has exited. */
export async function stop(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await gone;
}
