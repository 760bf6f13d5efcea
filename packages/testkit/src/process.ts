import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './temp.js';

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; fails when `child` exits first or time runs out. */
export async function waitTcp(port: number, child: ChildProcess, what: string, stderr: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited ${String(child.exitCode ?? child.signalCode)}: ${stderr().trim()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms: ${stderr().trim()}`);
}

/** `stop()` of a test server: kills its process and removes its directory, once (later calls do nothing). */
export function stopOnce(child: ChildProcess, dir: { cleanup(): Promise<void> }): () => Promise<void> {
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    await stopChild(child);
    await dir.cleanup();
  };
}

/** Ends `child`: SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A server child that listenOnFreePort started, and the tail of its stderr so far. */
export interface Listening {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

/**
 * Starts a server on a free loopback port: `spawnOn(port)` spawns it with stderr piped, and
 * `ready` resolves once it serves (default: 127.0.0.1:port accepts TCP). When another process
 * took the port first ("address already in use"), it tries another port, twice; any other
 * failure stops the child and throws with its stderr (the last `tail` characters).
 */
export async function listenOnFreePort(
  what: string,
  spawnOn: (port: number) => ChildProcess | Promise<ChildProcess>,
  opts: { tail?: number; ready?: (l: Listening) => Promise<void> } = {},
): Promise<Listening> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = await spawnOn(port);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-(opts.tail ?? 4000))));
    child.once('error', () => undefined);
    const l: Listening = { child, port, stderr: () => stderr };
    try {
      await (opts.ready ? opts.ready(l) : waitTcp(port, child, what, l.stderr));
      return l;
    } catch (err) {
      await stopChild(child);
      if (attempt < 2 && /address already in use/i.test(stderr)) continue;
      throw err;
    }
  }
}
