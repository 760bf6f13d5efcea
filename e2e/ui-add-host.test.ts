import { expect, it } from 'vitest';
import { describeInChromium, useUiSuite } from './browser-fixture.js';

/*
 * The Add host form in real Chromium (issue 22): the append-only checkbox appears only for a
 * REST URL (the server re-renders the field over htmx when the URL or the REST user changes),
 * ticked once a REST user is set; a local path shows why it is not offered.
 */
describeInChromium('web UI in Chromium: append-only offered only for REST repositories', { timeout: 60_000 }, () => {
  const fx = useUiSuite();

  it('no checkbox for a local path (with the reason); a REST URL offers it, ticked once a REST user is set', async () => {
    const page = fx.admin.page;
    const asked: string[] = [];
    page.on('request', (r) => void (r.url().includes('/partials/add-host/') && asked.push(r.url())));
    await page.goto('/hosts/new');
    await page.fill('[name="repository.password"]', 'ui-repo-password-never-in-a-url');
    const box = page.locator('input[name="repository.append_only"]');
    expect(await box.count()).toBe(0);

    await page.fill('[name="repository.url"]', '/srv/restic/ui-local');
    await page.press('[name="repository.url"]', 'Tab');
    await expect.poll(() => page.textContent('#append-only-field')).toContain('only a REST server');
    expect(await box.count()).toBe(0);

    await page.fill('[name="repository.url"]', 'rest:https://rest.example:8000/ui-web/');
    await page.press('[name="repository.url"]', 'Tab');
    await box.waitFor();
    expect(await box.isChecked()).toBe(false);
    await page.fill('[name="repository.rest_username"]', 'ui-web');
    await page.press('[name="repository.rest_username"]', 'Tab');
    await expect.poll(() => box.isChecked()).toBe(true);

    expect(asked.length).toBeGreaterThanOrEqual(3);
    expect(asked.join(' ')).not.toContain('never-in-a-url'); // only the URL and the REST user are sent
    await page.fill('#f-name', 'ui-web');
    await page.click('text=Create host and token');
    await page.waitForSelector('#enroll-token');
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
