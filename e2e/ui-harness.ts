import os from 'node:os';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from '@restic-manager/testkit';

/*
 * What the browser suites (e2e/ui-*.test.ts) share besides the fixture (e2e/browser-fixture.ts,
 * which owns Chromium, the server, sessions and screenshots): paths, the admin password, the
 * tool checks, and real agent processes from packages/agent/dist.
 */

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** docs/screenshots when refreshing them (`npm run screenshots`), else a scratch directory so a test run leaves the tree clean. */
export const SHOTS = process.env.RM_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'screenshots') : path.join(os.tmpdir(), 'rm-screenshots');
export const AGENT_MAIN = path.join(ROOT, 'packages', 'agent', 'dist', 'main.js');
export const ADMIN_PASSWORD = 'admin-password-for-ui-tests';
export const CHROMIUM = '/usr/bin/chromium';

export const chromiumCheck = requireTool('chromium');
export const resticCheck = requireTool('restic');
export const rcloneCheck = requireTool('rclone');

export interface AgentProcess {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `restic-manager-agent enroll` with the token the UI showed; resolves with the CLI's output. */
export function enrollAgent(serverUrl: string, token: string, stateDir: string): Promise<{ code: number | null; output: string }> {
  if (!existsSync(AGENT_MAIN)) throw new Error(`${AGENT_MAIN} is missing: run \`npx tsc -b\` first (npm test does)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT_MAIN, 'enroll', '--server', serverUrl, '--state-dir', stateDir], {
      env: { ...process.env, RM_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: out }));
  });
}

/** `restic-manager-agent run` in the background. */
export function runAgent(stateDir: string): AgentProcess {
  const child = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
