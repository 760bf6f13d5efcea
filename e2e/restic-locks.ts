/**
 * Real restic locks for the stale-lock tests (issue 22): a live one (a `restic backup --stdin`
 * waiting on its input holds a shared lock) and a stale one (the same, killed -9: restic had no
 * chance to remove its lock, and its PID is gone on this host).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
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

/**
 * Starts `restic backup --stdin` and resolves once its lock is in the repository (the process
 * keeps it while stdin stays open). New lock files are spotted on disk (cheap) and each is read
 * with restic (`cat lock --no-lock`) until it reads to find the one whose holder is this process; other
 * restic runs (the agent's) come and go meanwhile. On failure the process is killed.
 */
export async function holdLock(repo: string, password: string): Promise<HeldLock> {
  const dir = path.join(repo, 'locks');
  const before = new Set(fs.readdirSync(dir));
  const proc = spawn('restic', ['-r', repo, '--no-cache', 'backup', '--stdin', '--stdin-filename', 'held.bin'], { env: env(password), stdio: ['pipe', 'ignore', 'ignore'] });
  proc.stdin!.write('holding a lock\n');
  const pid = proc.pid!;
  const seen = new Set(before);
  try {
    const id = await eventually(async () => {
      if (proc.exitCode !== null) throw new Error(`restic exited with ${String(proc.exitCode)}`);
      for (const f of fs.readdirSync(dir).filter((x) => !seen.has(x))) {
        // restic retries a file that vanishes under it for about 45 s (another run's lock, removed
        // as its run ended): a short timeout, and a file that is gone is never looked at again.
        const cat = await run('restic', ['-r', repo, '--no-cache', 'cat', 'lock', f, '--no-lock'], { env: env(password), timeout: 5000 }).catch(() => null);
        if (!cat && !fs.existsSync(path.join(dir, f))) seen.add(f);
        if (!cat) continue; // not readable yet: looked at again next time
        seen.add(f);
        if ((JSON.parse(cat.stdout) as { pid?: number }).pid === pid) return f;
      }
      return null;
    }, 60_000, 'restic backup --stdin to take its lock');
    return { proc, pid, id };
  } catch (err) {
    await stop(proc, 'SIGKILL');
    throw err;
  }
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
