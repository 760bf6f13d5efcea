import { beforeAll, expect, it } from 'vitest';
import { describeInChromium, shot, useUiSuite, submitAndReload } from './browser-fixture.js';

/*
 * The schedule editor in real Chromium (issue 6): live cron preview while typing, validation
 * errors (a hook on a forget schedule) shown as a toast and next to the field, the saved
 * schedule listed, edited in place (PUT, version bumped, hooks kept unless removed), and the
 * maintenance / default-hooks cards rendered without CSP errors.
 */

describeInChromium('web UI in Chromium: schedule editor', { timeout: 90_000 }, () => {
  const fx = useUiSuite();
  let hostId = '';

  beforeAll(async () => {
    hostId = await fx.addHost('sched01');
  });

  it('previews a cron expression as you type: description and the next five runs, or the error', async () => {
    const page = fx.admin.page;
    await page.goto(`/hosts/${hostId}/schedules`);
    await page.fill('#f-time_zone', 'UTC');
    await page.fill('#f-cron_expr', '*/15 * * * *');
    await expect.poll(() => page.textContent('#cron-preview')).toContain('every 15 minutes');
    expect(await page.locator('#cron-next li').count()).toBe(5);
    const first = (await page.locator('#cron-next li').first().textContent()) ?? '';
    expect(first).toMatch(/:(00|15|30|45):00 UTC$/);
    await page.fill('#f-cron_expr', '61 * * * *');
    await expect.poll(() => page.textContent('#cron-preview')).toContain('Invalid cron expression');
  });

  it('rejects hooks on a forget schedule with the error in a toast and next to pre_hook; saves without them', async () => {
    const page = fx.admin.page;
    await page.goto(`/hosts/${hostId}/schedules`);
    await page.selectOption('#f-kind', 'forget');
    await page.fill('#f-cron_expr', '0 4 * * *');
    await page.fill('[name="retention_policy.keep_last"]', '3');
    await page.fill('#f-pre_hook', 'pg_dump app > /var/backups/app.sql');
    await page.click('#schedule-form button[type=submit]');
    const toast = page.locator('.toast[data-kind="error"]');
    await toast.waitFor();
    expect(await toast.textContent()).toContain('only allowed on backup schedules');
    await expect.poll(() => page.textContent('[data-field-error="pre_hook"]')).toContain('backup schedules only');
    expect(await page.getAttribute('#f-pre_hook', 'aria-invalid')).toBe('true');

    await page.fill('#f-pre_hook', '');
    await submitAndReload(page, '#schedule-form button[type=submit]');
    await expect.poll(() => page.textContent('main')).toContain('0 4 * * *');
    expect(await page.textContent('main')).toContain('last=3');
    expect(await page.textContent('main')).toMatch(/schedule v\d+ pushed|version \d+/);
    await shot(page, 'schedules');
  });

  it('edits a schedule in place: Edit fills the form, Save replaces it (one row, version bumped, hooks kept unless removed)', async () => {
    const page = fx.admin.page;
    const svc = fx.server.services;
    await page.goto(`/hosts/${hostId}/schedules`);
    await page.selectOption('#f-kind', 'backup');
    await page.fill('#f-cron_expr', '15 1 * * *');
    await page.fill('#f-paths', '/srv/www\n/etc');
    await page.fill('#f-pre_hook', 'true');
    await submitAndReload(page, '#schedule-form button[type=submit]');
    const created = (await svc.schedules.list(hostId)).items.find((i) => i.cron_expr === '15 1 * * *');
    expect(created).toMatchObject({ kind: 'backup', paths: ['/srv/www', '/etc'], has_pre_hook: true });
    const count = (await svc.schedules.list(hostId)).items.length;
    const v0 = (await svc.hosts.get(hostId)).schedule_version;

    await Promise.all([page.waitForURL(/edit=/), page.click(`[data-schedule-id="${created!.id}"] a:has-text("Edit")`)]);
    expect(await page.textContent('main')).toContain('Edit schedule: backup · 15 1 * * *');
    expect(await page.inputValue('#f-cron_expr')).toBe('15 1 * * *');
    expect(await page.inputValue('#f-kind')).toBe('backup');
    expect(await page.inputValue('#f-paths')).toBe('/srv/www\n/etc');
    expect(await page.inputValue('#f-pre_hook')).toBe(''); // hooks never go back to the browser
    expect(await page.isVisible('#hooks-kept')).toBe(true);
    await expect.poll(() => page.locator('#cron-next li').count()).toBe(5);

    // a bad edit shows the error next to the field and changes nothing
    await page.fill('#f-cron_expr', '99 1 * * *');
    await page.click('#schedule-form button[type=submit]');
    await expect.poll(() => page.textContent('[data-field-error="cron_expr"]')).toBeTruthy();
    expect((await svc.hosts.get(hostId)).schedule_version).toBe(v0);

    await page.fill('#f-cron_expr', '30 2 * * *');
    await page.fill('#f-options\\.limit_upload_kbps', '500');
    await submitAndReload(page, '#schedule-form button[type=submit]');
    let items = (await svc.schedules.list(hostId)).items;
    expect(items).toHaveLength(count);
    expect(items.find((i) => i.id === created!.id)).toMatchObject({ cron_expr: '30 2 * * *', paths: ['/srv/www', '/etc'], options: { limit_upload_kbps: 500 }, has_pre_hook: true });
    expect((await svc.hosts.get(hostId)).schedule_version).toBe(v0 + 1);
    expect(await page.textContent('main')).toContain('30 2 * * *');
    expect(await page.textContent('main')).not.toContain('15 1 * * *');
    const frame = await svc.schedules.scheduleSet(hostId);
    expect(frame.schedules.find((x) => x.id === created!.id)).toMatchObject({ cron_expr: '30 2 * * *', pre_hook: 'true' });

    // ticking "remove hooks" clears them
    await page.goto(`/hosts/${hostId}/schedules?edit=${created!.id}`);
    await page.check('#f-clear_hooks');
    await submitAndReload(page, '#schedule-form button[type=submit]');
    items = (await svc.schedules.list(hostId)).items;
    expect(items.find((i) => i.id === created!.id)).toMatchObject({ cron_expr: '30 2 * * *', has_pre_hook: false, options: { limit_upload_kbps: 500 } });
    expect((await svc.hosts.get(hostId)).schedule_version).toBe(v0 + 2);
    expect(fx.admin.pageErrors).toEqual([]);
  });

  it('sets the host time zone in Settings (bad names refused next to the field); the cron preview then uses it', async () => {
    const page = fx.admin.page;
    await page.goto(`/hosts/${hostId}/settings`);
    await page.fill('#f-host-time_zone', 'Europe/Atlantis');
    await page.click('#time-zone button[type=submit]');
    await expect.poll(() => page.textContent('#time-zone [data-field-error="time_zone"]')).toContain('IANA name');
    expect((await fx.server.services.hosts.get(hostId)).time_zone ?? null).toBeNull();
    await page.fill('#f-host-time_zone', 'Asia/Tokyo');
    await submitAndReload(page, '#time-zone button[type=submit]');
    expect((await fx.server.services.hosts.get(hostId)).time_zone).toBe('Asia/Tokyo');
    expect(await page.inputValue('#f-host-time_zone')).toBe('Asia/Tokyo');

    await page.goto(`/hosts/${hostId}/schedules`);
    expect(await page.getAttribute('#f-time_zone', 'placeholder')).toBe('Asia/Tokyo');
    await page.fill('#f-cron_expr', '0 3 * * *');
    await expect.poll(() => page.textContent('#cron-preview')).toContain('(Asia/Tokyo)');
    const runs = await page.locator('#cron-next li').allTextContents();
    expect(runs).toHaveLength(5);
    for (const r of runs) expect(r).toMatch(/ 03:00:00 Asia\/Tokyo$/);
    expect(await page.locator('#cron-next li').first().getAttribute('title')).toMatch(/T18:00:00\.000Z$/);
  });

  it('shows the maintenance card (locks, run-now, credential) and the default-hooks card', async () => {
    const page = fx.admin.page;
    await page.goto(`/hosts/${hostId}/repo`);
    expect(await page.textContent('main')).toContain('Maintenance credential');
    expect(await page.textContent('main')).toContain('No locks');
    await page.fill('#f-rest_username', 'sched01-maint');
    await page.click('form[hx-post$="/maintenance-credential"] button[type=submit]');
    await expect.poll(async () => (await fx.server.services.maintenance.credentialStatus(hostId)).set).toBe(false);
    // the password is required: the field error is shown, nothing is stored
    await expect.poll(() => page.textContent('[data-field-error="rest_password"]')).toContain('required');
    await page.goto(`/hosts/${hostId}/settings`);
    expect(await page.textContent('main')).toContain('Default hooks');
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
