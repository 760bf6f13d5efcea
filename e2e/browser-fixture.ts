import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import type { RunningServer, ServerConfigInput } from '@restic-manager/server';
import { tempDir } from '@restic-manager/testkit';
import type { TempDir, ToolCheck } from '@restic-manager/testkit';
import { startTestServer } from './test-server.js';
import { ADMIN_PASSWORD, CHROMIUM, SHOTS, chromiumCheck } from './ui-harness.js';

/*
 * The one set-up of every browser test (docs/ui.md, "Writing a browser test"): Debian's Chromium
 * launched once per file with the project's flags, a real server on loopback with a temp data
 * dir, sessions (a context and a page) signed in through the login form, browser-side errors
 * collected and failing the test that produced them, screenshots, and a teardown that always runs.
 */

export interface Credentials {
  username: string;
  password: string;
}

/** The admin that every fixture-owned server bootstraps. */
export const ADMIN: Credentials = { username: 'admin', password: ADMIN_PASSWORD };

export interface Session {
  context: BrowserContext;
  page: Page;
  /** Browser-side errors seen so far in this context: uncaught exceptions and console errors (e.g. CSP violations). The fixture empties it after each test. */
  pageErrors: string[];
}

export interface OpenOptions {
  /** Whose page: a user signed in through the login form, or an existing session's cookies (no new sign-in). Default: signed out. */
  as?: Credentials | Session;
  /** Default 1440 × 900. */
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
  deviceScaleFactor?: number;
  /** 'test' (default): closed after the test that opened it; 'file': kept for the following tests, closed at teardown. */
  scope?: 'test' | 'file';
}

export interface BrowserFixture {
  /** The file's Chromium (after set-up). */
  readonly browser: Browser;
  /** A fresh context and page. After every test each open session's errors are checked (the test fails on any) and test-scoped ones are closed. */
  open(opts?: OpenOptions): Promise<Session>;
  /** Runs at the file's teardown, after the tests, last registered first; every step runs whatever failed before it. */
  defer(what: string, cleanup: () => unknown): void;
  /** A temp directory removed at teardown. */
  tempDir(prefix: string): Promise<TempDir>;
}

export interface UiSuite extends BrowserFixture {
  /** The fixture's server (after set-up). */
  readonly server: RunningServer;
  readonly url: string;
  /** The file-scoped session signed in before the first test (unless `signIn: false`). */
  readonly admin: Session;
  /** Adds a host (not enrolled) whose append-only REST repository is on a closed loopback port; resolves with its id. */
  addHost(name: string): Promise<string>;
}

export interface UiSuiteOptions {
  /** Extra server settings (e.g. OIDC), computed during set-up, before the server starts. */
  server?: (fx: BrowserFixture) => Promise<Partial<ServerConfigInput>> | Partial<ServerConfigInput>;
  /** Who `admin` is signed in as (default ADMIN), or false for no file-scoped session. */
  signIn?: Credentials | false;
}

/** Console errors that error tests provoke on purpose (failed HTTP responses), not browser-side faults. */
const EXPECTED_CONSOLE = /^(Failed to load resource|Response Status Error Code)/;
const DESKTOP = { width: 1440, height: 900 };

/** Chromium with a fresh, throw-away profile (launch + new context = no state on disk shared with anything). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * `describe` that skips, and says why on the console, when Chromium or anything in `missing`
 * (reasons, e.g. from `reasons(resticCheck)`) is not there.
 */
export function describeInChromium(name: string, opts: { timeout?: number; missing?: string[] }, body: () => void): void {
  const missing = [...reasons(chromiumCheck), ...(opts.missing ?? [])];
  for (const m of missing) console.warn(`skipping "${name}": ${m}`);
  describe.skipIf(missing.length > 0)(name, opts.timeout ? { timeout: opts.timeout } : {}, body);
}

/** The reasons of the checks that failed. */
export function reasons(...checks: ToolCheck[]): string[] {
  return checks.flatMap((c) => (c.ok ? [] : [c.reason]));
}

/** Steps run last registered first; one failing does not stop the others; all failures are thrown together. */
export class Teardown {
  private steps: { what: string; run: () => unknown }[] = [];

  add(what: string, run: () => unknown): void {
    this.steps.push({ what, run });
  }

  async run(): Promise<void> {
    const failures: Error[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (e) {
        failures.push(new Error(`teardown: ${step.what}: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, failures.map((f) => f.message).join('; '));
  }
}

function collectErrors(context: BrowserContext): string[] {
  const errors: string[] = [];
  context.on('weberror', (e) => errors.push(e.error().message));
  context.on('console', (m) => {
    if (m.type() === 'error' && !EXPECTED_CONSOLE.test(m.text())) errors.push(m.text());
  });
  return errors;
}

/** Fills and submits the login form; resolves once the browser has left /login. */
async function signInWith(page: Page, who: Credentials): Promise<void> {
  await page.goto('/login');
  await page.fill('#f-username', who.username);
  await page.fill('#f-password', who.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
}

async function newSession(browser: Browser, baseURL: string, opts: OpenOptions): Promise<Session> {
  const options: BrowserContextOptions = { baseURL, viewport: opts.viewport ?? DESKTOP };
  if (opts.colorScheme) options.colorScheme = opts.colorScheme;
  if (opts.deviceScaleFactor) options.deviceScaleFactor = opts.deviceScaleFactor;
  const context = await browser.newContext(options);
  const pageErrors = collectErrors(context);
  if (opts.as && 'context' in opts.as) await context.addCookies(await opts.as.context.cookies());
  const page = await context.newPage();
  if (opts.as && 'username' in opts.as) await signInWith(page, opts.as);
  return { context, page, pageErrors };
}

/**
 * The sessions of one file. Each open session's browser-side errors are checked by settle()
 * (after every test); test-scoped sessions are closed there, file-scoped ones by closeAll().
 */
export class SessionPool {
  private readonly sessions = new Map<Session, 'test' | 'file'>();

  async open(browser: Browser, baseURL: string, opts: OpenOptions = {}): Promise<Session> {
    const s = await newSession(browser, baseURL, opts);
    this.sessions.set(s, opts.scope ?? 'test');
    return s;
  }

  /** Empties every open session's error list and closes the test-scoped sessions; then throws if any had errors. */
  async settle(): Promise<void> {
    const seen = [...this.sessions.keys()].flatMap((s) => s.pageErrors.splice(0));
    for (const [s, scope] of this.sessions) if (scope === 'test') await this.close(s);
    if (seen.length) throw new Error(`browser-side errors during the test:\n  ${seen.join('\n  ')}`);
  }

  async closeAll(): Promise<void> {
    for (const s of this.sessions.keys()) await this.close(s);
  }

  private async close(s: Session): Promise<void> {
    this.sessions.delete(s);
    await s.context.close();
  }
}

function setUp<T>(what: string, value: T | undefined): T {
  if (value === undefined) throw new Error(`${what} is only there once the file's set-up (beforeAll) has run`);
  return value;
}

/**
 * The browser half on its own, for a suite that starts its own server (`baseUrl` is read when a
 * session is opened). Registers beforeAll/afterEach/afterAll hooks: call it at the top of a describe.
 */
export function useBrowser(baseUrl: () => string): BrowserFixture {
  const teardown = new Teardown();
  const pool = new SessionPool();
  let browser: Browser | undefined;
  beforeAll(async () => {
    const b = await launchBrowser();
    browser = b;
    teardown.add('close Chromium', () => b.close());
    teardown.add('close the sessions', () => pool.closeAll());
  });
  afterEach(() => pool.settle());
  afterAll(() => teardown.run());
  const fx: BrowserFixture = {
    get browser() {
      return setUp('the browser', browser);
    },
    open: (opts) => pool.open(fx.browser, baseUrl(), opts),
    defer: (what, cleanup) => teardown.add(what, cleanup),
    async tempDir(prefix) {
      const dir = await tempDir(prefix);
      teardown.add(`remove ${dir.path}`, () => dir.cleanup());
      return dir;
    },
  };
  return fx;
}

/**
 * Chromium plus a fresh server on 127.0.0.1 (ephemeral port, temp data dir, the ADMIN password)
 * and, unless `signIn: false`, a file-scoped session signed in as ADMIN before the first test.
 */
export function useUiSuite(opts: UiSuiteOptions = {}): UiSuite {
  let server: RunningServer | undefined;
  let admin: Session | undefined;
  const fx = useBrowser(() => setUp('the server', server).url);
  beforeAll(async () => {
    const dir = await fx.tempDir('rm-ui-');
    const extra = (await opts.server?.(fx)) ?? {};
    const s = await startTestServer({ listen: '127.0.0.1:0', dataDir: path.join(dir.path, 'data'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn', ...extra });
    server = s;
    fx.defer('close the server', () => s.close());
    const who = opts.signIn ?? ADMIN;
    if (who) admin = await fx.open({ as: who, scope: 'file' });
  });
  return {
    get browser() {
      return fx.browser;
    },
    open: fx.open,
    defer: fx.defer,
    tempDir: fx.tempDir,
    get server() {
      return setUp('the server', server);
    },
    get url() {
      return setUp('the server', server).url;
    },
    get admin() {
      return setUp('the signed-in admin session', admin);
    },
    async addHost(name) {
      const repository = { url: `rest:http://127.0.0.1:9/${name}/`, append_only: true };
      return (await setUp('the server', server).services.hosts.addHost({ kind: 'system' }, { name, tags: [], repository })).host_id;
    },
  };
}

/** Full-page (or viewport) screenshot to SHOTS/<name>.png, from the top and without toasts. */
export async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  // from the top: a full-page shot of a scrolled page draws the sticky top bar mid-page
  await page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove()); window.scrollTo(0, 0)");
  await page.screenshot({ path: shotPath(name), fullPage });
}

/** Screenshot of one element to SHOTS/<name>.png. */
export async function shotOf(element: Locator, name: string): Promise<void> {
  await element.screenshot({ path: shotPath(name) });
}

function shotPath(name: string): string {
  mkdirSync(SHOTS, { recursive: true });
  return path.join(SHOTS, `${name}.png`);
}

/**
 * Clicks a submit button whose form answers with a redirect (HX-Redirect or 303) and resolves once the
 * new document has loaded. Waiting for the URL instead resolves at once when the redirect leads back to
 * the page already open, and the next step then races the reload.
 */
export async function submitAndReload(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}
