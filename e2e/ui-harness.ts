import os from 'node:os';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer } from '@restic-manager/server';
import type { RunningServer } from '@restic-manager/server';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';

/*
 * Shared set-up for the browser suites (e2e/ui-*.test.ts): a real server on loopback, Debian's
 * Chromium driven by playwright-core with a fresh profile, real agent processes from
 * packages/agent/dist, and screenshots into docs/screenshots/.
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

export interface UiServer {
  server: RunningServer;
  url: string;
  dir: TempDir;
  stop(): Promise<void>;
}

export async function startUiServer(): Promise<UiServer> {
  const dir = await tempDir('rm-ui-');
  const server = await startServer({ listen: '127.0.0.1:0', dataDir: path.join(dir.path, 'data'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn' });
  return {
    server,
    url: server.url,
    dir,
    async stop() {
      await server.close();
      await dir.cleanup();
    },
  };
}

/** Chromium with a fresh, throw-away profile (launch + new context = no state on disk shared with anything). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface Session {
  context: BrowserContext;
  page: Page;
  /** Browser-side errors seen so far: uncaught exceptions and console errors (e.g. CSP violations). */
  pageErrors: string[];
}

export async function signIn(browser: Browser, baseUrl: string, username: string, password: string, viewport = { width: 1440, height: 900 }): Promise<Session> {
  const context = await browser.newContext({ viewport, baseURL: baseUrl });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // CSP violations and script errors land here; failed HTTP responses are expected in error tests
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^(Failed to load resource|Response Status Error Code)/.test(m.text())) pageErrors.push(m.text());
  });
  await page.goto('/login');
  await page.fill('#f-username', username);
  await page.fill('#f-password', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
  return { context, page, pageErrors };
}

/** Full-page screenshot to SHOTS/<name>.png. */
export async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  // from the top: a full-page shot of a scrolled page draws the sticky top bar mid-page
  await page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove()); window.scrollTo(0, 0)");
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

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
