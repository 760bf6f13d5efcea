import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

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
