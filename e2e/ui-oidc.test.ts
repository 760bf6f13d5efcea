import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer } from '@restic-manager/server';
import type { RunningServer } from '@restic-manager/server';
import { freePort } from '@restic-manager/testkit';
import { CLIENT_ID, CLIENT_SECRET, startProvider } from '../packages/server/test/helpers/oidc-provider.js';
import type { TestProvider } from '../packages/server/test/helpers/oidc-provider.js';
import { ADMIN_PASSWORD, chromiumCheck, launchBrowser, shot } from './ui-harness.js';

/*
 * OIDC sign-in in real Chromium: the provider is a real oidc-provider at http://localhost:<port>,
 * a different site from the server at http://127.0.0.1:<port>, so the SameSite=Strict session
 * cookie has to survive a genuinely cross-site redirect back.
 */
describe.skipIf(!chromiumCheck.ok)('web UI in Chromium: Sign in with SSO', { timeout: 90_000 }, () => {
  let op: TestProvider;
  let server: RunningServer;
  let browser: Browser;
  let dataDir: string;

  beforeAll(async () => {
    if (!chromiumCheck.ok) console.warn(`skipping the OIDC browser test: ${chromiumCheck.reason}`);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    op = await startProvider(`${base}/auth/oidc/callback`, { olivia: { groups: ['rm-operators'] } }, 'localhost');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-ui-oidc-'));
    server = await startServer({
      listen: `127.0.0.1:${port}`, baseUrl: base, dataDir, cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn',
      oidcIssuer: op.issuer, oidcClientId: CLIENT_ID, oidcClientSecret: CLIENT_SECRET, oidcScopes: 'openid profile email groups',
      oidcAdminGroups: 'rm-admins', oidcOperatorGroups: 'rm-operators',
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await op?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('clicks "Sign in with SSO", signs in at the provider and lands on the dashboard as the mapped role', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.url });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto('/login');
    const button = page.locator('#sso-login');
    expect(await button.innerText()).toBe('Sign in with SSO');
    expect(await page.locator('#f-password').count()).toBe(1);
    await shot(page, 'login-sso');
    await button.click();
    await page.waitForURL((u) => u.host === new URL(op.issuer).host && u.pathname.startsWith('/interaction/'));
    await page.fill('input[name=login]', 'olivia');
    await page.fill('input[name=password]', 'any-password');
    await page.click('button[type=submit]');
    await page.waitForURL((u) => u.host === new URL(op.issuer).host && u.pathname.startsWith('/interaction/'));
    await page.click('button[type=submit]'); // consent: Continue
    await page.waitForURL(`${server.url}/`);
    const who = page.locator('.who');
    await who.waitFor();
    expect(await who.getAttribute('title')).toBe('Signed in as olivia (operator)');
    expect(page.url()).not.toMatch(/code=|state=/);
    const cookies = await context.cookies(server.url);
    expect(cookies.find((c) => c.name === 'rm_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
