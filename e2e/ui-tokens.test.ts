import { expect, it } from 'vitest';
import { API_TOKEN_PATTERN } from '@restic-manager/protocol';
import { describeInChromium, shot, useUiSuite } from './browser-fixture.js';

/*
 * Settings → API tokens in real Chromium (issue 21): a missing name is a field error; creating
 * a token shows its secret once (it works as a bearer on the REST API, and is gone after a
 * reload: only its prefix is listed); revoking it (after a confirm) stops it at once.
 */
describeInChromium('web UI in Chromium: API tokens', { timeout: 60_000 }, () => {
  const fx = useUiSuite();

  it('creates a token shown once, lists it by prefix, and revokes it', async () => {
    const page = fx.admin.page;
    await page.goto('/settings');
    await page.click('text=Manage your API tokens');
    await page.waitForURL('**/settings/tokens');
    expect(await page.textContent('#tokens')).toContain('No tokens yet');

    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.textContent('[data-field-error="name"]')).toBe('give the token a name');

    await page.fill('#f-name', 'ui-ci');
    await page.selectOption('#f-role', 'operator');
    await page.fill('#f-scope_tags', 'team-a, db');
    await page.fill('#f-expires_in_days', '30');
    await page.click('#token-form button[type=submit]');
    const secret = (await page.locator('#new-token').textContent({ timeout: 10_000 }))?.trim() ?? '';
    expect(secret).toMatch(API_TOKEN_PATTERN);
    const row = page.locator('#tokens tbody tr', { hasText: 'ui-ci' });
    expect(await row.textContent()).toContain(`${secret.slice(0, 10)}…`);
    expect(await row.textContent()).toContain('team-a');
    await shot(page, 'settings-api-tokens');

    const me = await fetch(`${fx.url}/api/auth/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { username: string; role: string } }).user).toMatchObject({ username: 'admin', role: 'operator' });

    await page.reload();
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator('#tokens tbody tr', { hasText: 'ui-ci' }).locator('.badge, [class*=badge]').first().textContent()).toContain('active');

    page.once('dialog', (d) => void d.accept());
    await page.locator('#tokens tbody tr', { hasText: 'ui-ci' }).locator('button:has-text("Revoke")').click();
    await expect.poll(() => page.getAttribute('#tokens tbody tr:has-text("ui-ci")', 'data-state')).toBe('revoked');
    expect((await fetch(`${fx.url}/api/auth/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
