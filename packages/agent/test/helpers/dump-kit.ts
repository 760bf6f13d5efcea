import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createEngine } from '@restic-manager/engines';
import { processes, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import type { Connection } from '@restic-manager/engines';
import type { DumpRunOptions } from '../../src/dumps/run-dumps.js';

/** What the dump tests read back from `restic snapshots --json`. */
export interface Snap { id: string; tags?: string[]; paths: string[] }

/** Raw restic against a test repository with password `password`: `--json` answers and `restic dump` bytes. */
export function resticKit(password: string): { resticJson<T>(conn: Connection, args: string[]): T; resticDump(conn: Connection, snapshot: string, file: string): Buffer } {
  const env = (conn: Connection) => ({ ...process.env, RESTIC_REPOSITORY: conn.repository, RESTIC_PASSWORD: password });
  return {
    resticJson<T>(conn: Connection, args: string[]): T {
      const r = spawnSync('restic', [...args, '--json'], { env: env(conn), encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    resticDump(conn: Connection, snapshot: string, file: string): Buffer {
      const r = spawnSync('restic', ['dump', snapshot, file], { env: env(conn), maxBuffer: 256 * 1024 * 1024 });
      if (r.status !== 0) throw new Error(`restic dump: ${r.stderr.toString()}`);
      return r.stdout;
    },
  };
}

/** Samples every process's argv while `during` runs: a secret must never show up there. */
export async function argvWhile<T>(during: () => Promise<T>): Promise<{ value: T; argv: string[] }> {
  const argv = new Set<string>();
  const timer = setInterval(() => {
    for (const p of processes()) argv.add(p.cmdline);
  }, 5);
  try {
    return { value: await during(), argv: [...argv] };
  } finally {
    clearInterval(timer);
  }
}

/** Dump options tagged `nightly` whose job-log lines are collected in `lines`. */
export function collector(): { lines: string[]; o: DumpRunOptions } {
  const lines: string[] = [];
  return { lines, o: { tags: ['nightly'], opts: { onLine: (l) => lines.push(`${l.stream}: ${l.line}`) }, line: (s, t) => lines.push(`${s}: ${t}`) } };
}

/** A temp dir (prefix `prefix`) holding a new restic repository `repo` with `password`, initialised by the engine. */
export async function initRepo(prefix: string, password: string): Promise<{ tmp: TempDir; conn: Connection }> {
  const tmp = await tempDir(prefix);
  const conn = { repository: path.join(tmp.path, 'repo'), password };
  const init = await createEngine('restic').init(conn);
  if (!init.ok) throw new Error(`restic init: ${init.error.message}`);
  return { tmp, conn };
}
