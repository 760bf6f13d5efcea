import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { storeEnv } from './test-server.js';

/** The compiled CLI (`npx tsc -b` builds it). */
export const CLI = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), 'packages/cli/dist/main.js');

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  /** The URL from the server's "listening on …" line; rejects when it exits first. */
  url: Promise<string>;
  exited: Promise<number | null>;
  err(): string;
  out(): string;
}

/**
 * `restic-manager server` as its own process on a free loopback port with only PATH and `env` set
 * (plus the run's store for RM_DATA_DIR unless `env` names RM_DATABASE_URL: test-server.ts).
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const store = env.RM_DATA_DIR && !env.RM_DATABASE_URL ? await storeEnv(env.RM_DATA_DIR) : {};
  const child = spawn(process.execPath, [CLI, 'server'], { env: { PATH: process.env.PATH, RM_LISTEN: '127.0.0.1:0', RM_COOKIE_SECURE: 'false', ...store, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-64_000)));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-64_000);
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m?.[1]) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  url.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url, exited, err: () => stderr, out: () => stdout };
}
