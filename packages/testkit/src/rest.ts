import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { listenOnFreePort, stopOnce } from './process.js';
import { tempDir } from './temp.js';

export interface RestServerOptions {
  /** rclone `--append-only`: no deletes or overwrites (default false). */
  appendOnly?: boolean;
  /** rclone `--private-repos`: each user may only use `/<user>/` (default false). */
  privateRepos?: boolean;
  /** user -> password, written with `htpasswd -B` (bcrypt). */
  users: Record<string, string>;
  /**
   * Serve this existing directory instead of a fresh one (it is not removed by `stop()`). Lets a
   * second, non-append-only instance serve the same repositories (a maintenance endpoint).
   */
  dataDir?: string;
}

export interface RestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `rest:http://127.0.0.1:PORT/<user>/` — no credentials; pass them as Connection.restUsername/restPassword. */
  repoUrl(user: string): string;
  /** Directory rclone serves; repositories are `<dataDir>/<user>/`. */
  dataDir: string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], stdin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${String(code)}: ${err.trim()}`))));
    child.stdin.end(stdin);
  });
}

/** Writes an htpasswd file; passwords go through stdin (`-i`), never argv. */
export async function writeHtpasswd(file: string, users: Record<string, string>): Promise<void> {
  let first = true;
  for (const [user, pass] of Object.entries(users)) {
    await run('htpasswd', [first ? '-Bic' : '-Bi', file, user], `${pass}\n`);
    first = false;
  }
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`rclone serve restic exited ${child.exitCode}: ${stderr().trim()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return; // any HTTP answer (usually 401) means it is listening
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`rclone serve restic did not answer on ${url} within ${timeoutMs} ms: ${stderr().trim()}`);
}

/**
 * A real restic REST server: `rclone serve restic --htpasswd FILE [--append-only] [--private-repos]`
 * on a free loopback port. Retries on a port clash. `stop()` kills rclone and removes its data.
 */
export async function startRestServer(opts: RestServerOptions): Promise<RestServer> {
  const dir = await tempDir('rm-rest-');
  const dataDir = opts.dataDir ?? path.join(dir.path, 'data');
  if (!opts.dataDir) await mkdir(dataDir);
  const htpasswd = path.join(dir.path, 'htpasswd');
  try {
    await writeHtpasswd(htpasswd, opts.users);
    const { child, port } = await listenOnFreePort('rclone serve restic', (port) => {
      const args = ['serve', 'restic', '--addr', `127.0.0.1:${port}`, '--htpasswd', htpasswd];
      if (opts.appendOnly) args.push('--append-only');
      if (opts.privateRepos) args.push('--private-repos');
      args.push(dataDir);
      return spawn('rclone', args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, RCLONE_CONFIG: path.join(dir.path, 'rclone.conf') },
      });
    }, { ready: (l) => waitReady(`http://127.0.0.1:${l.port}/`, l.child, l.stderr, 15_000) });
    const url = `http://127.0.0.1:${port}`;
    return {
      url,
      repoUrl: (user) => `rest:${url}/${encodeURIComponent(user)}/`,
      dataDir,
      stop: stopOnce(child, dir),
    };
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
}
