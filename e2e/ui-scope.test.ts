import { expect, it } from 'vitest';
import { describeInChromium, shot, useUiSuite } from './browser-fixture.js';

/*
 * Scoped roles in real Chromium (issue 21): an admin limits a new operator to hosts tagged
 * `team-a` from Settings → Users (the scope shows in the table and can be edited there); signed
 * in, that operator's dashboard lists only the in-scope host, and an out-of-scope host's page is
 * a "Not allowed" page.
 */
describeInChromium('web UI in Chromium: scoped roles', { timeout: 60_000 }, () => {
  const fx = useUiSuite();

  it("shows a scoped operator only the hosts carrying the scope's tags", async () => {
    const system = { kind: 'system' } as const;
    const a = await fx.addHost('team-a-web');
    const b = await fx.addHost('team-b-db');
    await fx.server.services.hosts.setTags(system, a, ['team-a']);
    await fx.server.services.hosts.setTags(system, b, ['team-b']);

    const page = fx.admin.page;
    await page.goto('/settings');
    await page.fill('#f-username', 'dora');
    await page.fill('#f-password', 'dora-password-for-ui-1');
    await page.selectOption('#f-role', 'operator');
    await page.fill('#f-scope_tags', 'team-a');
    await page.click('#users form[hx-post="/settings/users"] button[type=submit]');
    const row = page.locator('#users tbody tr', { hasText: 'dora' });
    await expect.poll(async () => row.locator('input[name=scope_tags]').inputValue().catch(() => '')).toBe('team-a');

    const dora = await fx.open({ as: { username: 'dora', password: 'dora-password-for-ui-1' } });
    await dora.page.goto('/');
    const hosts = await dora.page.textContent('#hosts');
    expect(hosts).toContain('team-a-web');
    expect(hosts).not.toContain('team-b-db');
    expect(await dora.page.textContent('nav.nav')).not.toContain('Repositories');
    await shot(dora.page, 'dashboard-scoped-operator');

    const denied = await dora.page.goto(`/hosts/${b}`);
    expect(denied?.status()).toBe(403);
    expect(await dora.page.textContent('main, body')).toMatch(/limited to hosts tagged team-a/);

    // The admin widens the scope from the users table; dora's next page shows both hosts.
    await row.locator('input[name=scope_tags]').fill('team-a, team-b');
    // Wait for the server's answer (the filled input shows the new value before the POST lands).
    const saved = page.waitForResponse((r) => r.request().method() === 'POST' && /\/settings\/users\/[^/]+\/scope$/.test(r.url()));
    await row.locator('form.user-scope button[type=submit]').click();
    expect((await saved).status()).toBe(200);
    await expect.poll(async () => page.locator('#users tbody tr', { hasText: 'dora' }).locator('input[name=scope_tags]').inputValue().catch(() => '')).toBe('team-a, team-b');
    await dora.page.goto('/');
    expect(await dora.page.textContent('#hosts')).toContain('team-b-db');
    expect(dora.pageErrors.filter((e) => !/403/.test(e))).toEqual([]);
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
