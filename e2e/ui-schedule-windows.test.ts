import { beforeAll, expect, it } from 'vitest';
import { describeInChromium, shot, useUiSuite, submitAndReload } from './browser-fixture.js';

/*
 * Issue 21 in real Chromium: the schedule editor's "Backup windows" section. The cron preview
 * shows runs due outside the window as waiting, with the time they start; a window that never
 * opens (zero length) is refused with the error next to the field; a valid one is saved and
 * filled back in when editing. Settings → Backup windows by host tag saves a tag's windows.
 */

describeInChromium('web UI in Chromium: backup windows', { timeout: 90_000 }, () => {
  const fx = useUiSuite();
  let hostId = '';

  beforeAll(async () => {
    hostId = await fx.addHost('win01');
  });

  it('previews waiting runs, refuses a zero-length window naming the field, saves and re-fills a valid one', async () => {
    const page = fx.admin.page;
    const svc = fx.server.services;
    await page.goto(`/hosts/${hostId}/schedules`);
    await page.fill('#f-paths', '/srv');
    await page.fill('#f-time_zone', 'UTC');
    await page.fill('#f-cron_expr', '0 * * * *');
    await expect.poll(() => page.locator('#cron-next li').count()).toBe(5);
    // A one-hour window eight hours from now: the next five hourly runs all wait for it.
    const h = (new Date().getUTCHours() + 8) % 24;
    const start = `${String(h).padStart(2, '0')}:30`;
    const end = `${String((h + 1) % 24).padStart(2, '0')}:30`;
    await page.fill('#f-win-0-days', 'sun-sat');
    await page.fill('#f-win-0-start', start);
    await page.fill('#f-win-0-end', start);
    await page.selectOption('#f-win-0-at_end', 'stop');
    await expect.poll(() => page.locator('#cron-next li .window-wait').count(), { timeout: 10_000 }).toBe(0); // invalid (zero length): ignored by the preview
    await page.click('#schedule-form button[type=submit]');
    const toast = page.locator('.toast[data-kind="error"]');
    await toast.waitFor();
    expect(await toast.textContent()).toContain('windows.windows.0.end');
    await expect.poll(() => page.textContent('[data-field-error="windows.windows.0.end"]')).toContain('no length');
    expect((await svc.schedules.list(hostId)).items).toHaveLength(0);

    await page.fill('#f-win-0-end', end);
    await expect.poll(() => page.locator('#cron-next li .window-wait').count(), { timeout: 10_000 }).toBe(5);
    expect(await page.locator('#cron-next li').first().textContent()).toContain(`waits for its backup window, starts`);
    expect(await page.locator('#cron-next li').first().textContent()).toContain(`${start}:00 UTC`);
    await page.fill('#f-win-blackouts', '2099-12-24..2099-12-26');
    await submitAndReload(page, '#schedule-form button[type=submit]');
    const saved = (await svc.schedules.list(hostId)).items[0];
    expect(saved?.windows).toEqual({ windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start, end, at_end: 'stop' }], blackouts: [{ from: '2099-12-24', to: '2099-12-26' }] });

    await Promise.all([page.waitForURL(/edit=/), page.click(`[data-schedule-id="${saved!.id}"] a:has-text("Edit")`)]);
    expect(await page.inputValue('#f-win-0-days')).toBe('sun,mon,tue,wed,thu,fri,sat');
    expect(await page.inputValue('#f-win-0-start')).toBe(start);
    expect(await page.inputValue('#f-win-0-at_end')).toBe('stop');
    expect(await page.inputValue('#f-win-blackouts')).toBe('2099-12-24..2099-12-26');
    await shot(page, 'schedule-windows');
  });

  it('Settings: saves the backup windows of a host tag and lists them', async () => {
    const page = fx.admin.page;
    await page.goto('/settings');
    await page.fill('#f-tw-tag', 'prod');
    await page.fill('#f-tw-0-days', 'sat,sun');
    await page.fill('#f-tw-0-start', '00:00');
    await page.fill('#f-tw-0-end', '24:00');
    // A bad blackout date is named beside the blackout textarea.
    await page.fill('#f-tw-blackouts', '2026-02-30');
    await page.click('#tag-windows-form button[type=submit]');
    await expect.poll(() => page.textContent('[data-field-error="windows.blackouts"]')).toContain('YYYY-MM-DD');
    await page.fill('#f-tw-blackouts', '');
    await submitAndReload(page, '#tag-windows-form button[type=submit]');
    await expect.poll(() => page.textContent('#tag-windows-list')).toContain('sat,sun 00:00–24:00');
    expect((await fx.server.services.tagWindows.list()).items).toEqual([expect.objectContaining({ tag: 'prod' })]);
  });
});
