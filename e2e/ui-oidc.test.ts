import { expect, it } from 'vitest';
import { freePort } from '@restic-manager/testkit';
import { CLIENT_ID, CLIENT_SECRET, startProvider } from '../packages/server/test/helpers/oidc-provider.js';
import type { TestProvider } from '../packages/server/test/helpers/oidc-provider.js';
import { describeInChromium, shot, useUiSuite } from './browser-fixture.js';

/*
 * OIDC sign-in in real Chromium: the provider is a real oidc-provider at http://localhost:<port>,
 * a different site from the server at http://127.0.0.1:<port>, so the SameSite=Strict session
 * cookie has to survive a genuinely cross-site redirect back.
 */
describeInChromium('web UI in Chromium: Sign in with SSO', { timeout: 90_000 }, () => {
  let op: TestProvider;
  const fx = useUiSuite({
    signIn: false,
    // the provider needs the callback URL, so the port is chosen first
    async server(setup) {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      op = await startProvider(`${base}/auth/oidc/callback`, { olivia: { groups: ['rm-operators'] } }, 'localhost');
      setup.defer('close the OIDC provider', () => op.close());
      return {
        listen: `127.0.0.1:${port}`, baseUrl: base,
        oidcIssuer: op.issuer, oidcClientId: CLIENT_ID, oidcClientSecret: CLIENT_SECRET, oidcScopes: 'openid profile email groups',
        oidcAdminGroups: 'rm-admins', oidcOperatorGroups: 'rm-operators',
      };
    },
  });

  it('clicks "Sign in with SSO", signs in at the provider and lands on the dashboard as the mapped role', async () => {
    const { context, page, pageErrors } = await fx.open({ viewport: { width: 1280, height: 800 } });
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
    await page.waitForURL(`${fx.url}/`);
    const who = page.locator('.who');
    await who.waitFor();
    expect(await who.getAttribute('title')).toBe('Signed in as olivia (operator)');
    expect(page.url()).not.toMatch(/code=|state=/);
    const cookies = await context.cookies(fx.url);
    expect(cookies.find((c) => c.name === 'rm_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(pageErrors).toEqual([]);
  });
});
