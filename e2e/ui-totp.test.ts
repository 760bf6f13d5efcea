import { expect, it } from 'vitest';
import { base32, totpAt } from '../packages/server/test/helpers/rfc6238.js';
import { describeInChromium, shot, useUiSuite } from './browser-fixture.js';

/*
 * Two-factor sign-in in real Chromium (issue 21): a user enrols under Settings → Security (the
 * key read from the page, codes computed in the test from RFC 6238 with node:crypto), saves the
 * recovery codes, signs out, and signs in with password then code; the code already used at
 * enrolment is refused on the way. An admin then requires it for a role: a user of that role is
 * sent to the set-up page from any other page.
 */
const PASSWORD = 'tina-password-for-ui-2fa';

describeInChromium('web UI in Chromium: two-factor sign-in', { timeout: 90_000 }, () => {
  const fx = useUiSuite();

  it('enrols, signs out, and signs in with password and code (a reused code refused)', async () => {
    await fx.server.services.auth.createUser({ kind: 'system' }, { username: 'tina', password: PASSWORD, role: 'operator' });
    const s = await fx.open({ as: { username: 'tina', password: PASSWORD } });
    const page = s.page;
    await page.goto('/settings');
    await page.click('text=Two-factor sign-in');
    await page.waitForURL('**/settings/security');
    await page.click('#totp-setup');
    const secret = (await page.locator('#totp-secret').textContent())?.trim() ?? '';
    const key = base32(secret);
    expect(key.length).toBe(20);
    await page.fill('#f-code', '000000');
    await page.click('text=Turn on');
    await expect.poll(() => page.textContent('[data-field-error="code"]')).toBe('wrong or expired code');
    const enrolCode = totpAt(key, Date.now());
    await page.fill('#f-code', enrolCode);
    await page.click('text=Turn on');
    const codes = ((await page.locator('#recovery-codes').textContent({ timeout: 10_000 })) ?? '').trim().split('\n');
    expect(codes).toHaveLength(10);
    await shot(page, 'settings-totp-recovery-codes');

    await page.click('text=Sign out');
    await page.waitForURL('**/login?signed_out=1');
    await page.fill('#f-username', 'tina');
    await page.fill('#f-password', PASSWORD);
    await page.click('button:has-text("Sign in")');
    await page.locator('#totp-form').waitFor();
    await page.fill('#f-code', enrolCode);
    await page.click('button:has-text("Verify")');
    await expect.poll(() => page.textContent('#login-error')).toMatch(/wrong, expired or was already used/);
    await page.fill('#f-code', totpAt(key, Date.now() + 30_000));
    await page.click('button:has-text("Verify")');
    await page.waitForURL((u) => u.pathname === '/');
    await page.goto('/settings/security');
    expect(await page.textContent('#totp')).toContain('Recovery codes left: 10');
    expect(s.pageErrors).toEqual([]);
  });

  it('a role that requires it sends its users to the set-up page first', async () => {
    await fx.server.services.auth.createUser({ kind: 'system' }, { username: 'vic', password: PASSWORD, role: 'viewer' });
    const admin = fx.admin.page;
    await admin.goto('/settings/security');
    await admin.check('#totp-policy input[value="viewer"]');
    await admin.click('#totp-policy button:has-text("Save")');
    await expect.poll(async () => (await fx.server.services.totp.settings()).totp_required_roles).toEqual(['viewer']);
    const vic = await fx.open({ as: { username: 'vic', password: PASSWORD } });
    await vic.page.goto('/jobs');
    await vic.page.waitForURL('**/settings/security');
    expect(await vic.page.textContent('#totp-required')).toContain('Your role must sign in with a second factor');
    await vic.page.click('#totp-setup');
    const key = base32((await vic.page.locator('#totp-secret').textContent())?.trim() ?? '');
    await vic.page.fill('#f-code', totpAt(key, Date.now()));
    await vic.page.click('text=Turn on');
    await vic.page.locator('#recovery-codes').waitFor();
    await vic.page.goto('/jobs');
    expect(new URL(vic.page.url()).pathname).toBe('/jobs');
    expect(vic.pageErrors).toEqual([]);
  });
});
