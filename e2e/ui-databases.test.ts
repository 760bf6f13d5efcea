import { beforeAll, expect, it } from 'vitest';
import { describeInChromium, shot, useUiSuite, submitAndReload } from './browser-fixture.js';

/*
 * The schedule editor's Databases section in real Chromium (docs/databases.md): a backup schedule
 * with only a database is saved, listed, edited without retyping the password (kept), and the
 * password never comes back to the browser; a bad port is refused next to its field.
 */
describeInChromium('web UI in Chromium: databases on a backup schedule', { timeout: 90_000 }, () => {
  const fx = useUiSuite();
  let hostId = '';
  const PW = 'ui-db-pw-MARKER-8e21';

  beforeAll(async () => {
    hostId = await fx.addHost('db01');
  });

  it('saves a databases-only backup schedule, keeps the password on edit and never shows it', async () => {
    const page = fx.admin.page;
    const svc = fx.server.services;
    await page.goto(`/hosts/${hostId}/schedules`);
    await page.selectOption('#f-kind', 'backup');
    await page.fill('#f-cron_expr', '0 2 * * *');
    await page.selectOption('#f-databases\\.0\\.engine', 'postgres');
    await page.fill('#f-databases\\.0\\.database', 'app');
    await page.fill('#f-databases\\.0\\.host', '127.0.0.1');
    await page.fill('#f-databases\\.0\\.port', 'abc');
    await page.fill('#f-databases\\.0\\.user', 'backup');
    await page.fill('#f-databases\\.0\\.password', PW);
    await page.click('#schedule-form button[type=submit]');
    await expect.poll(() => page.textContent('[data-field-error="databases.0.port"]')).toBeTruthy();
    expect((await svc.schedules.list(hostId)).items).toHaveLength(0);

    await page.fill('#f-databases\\.0\\.port', '5432');
    await submitAndReload(page, '#schedule-form button[type=submit]');
    const [created] = (await svc.schedules.list(hostId)).items;
    expect(created).toMatchObject({ kind: 'backup', paths: [], databases: [{ engine: 'postgres', database: 'app', host: '127.0.0.1', port: 5432, user: 'backup', has_password: true }] });
    expect(await page.textContent('main')).toContain('postgres:app');
    const spec = (await svc.schedules.scheduleSet(hostId)).schedules[0];
    expect(spec?.databases?.[0]?.password).toBe(PW);

    await Promise.all([page.waitForURL(/edit=/), page.click(`[data-schedule-id="${created!.id}"] a:has-text("Edit")`)]);
    expect(await page.inputValue('#f-databases\\.0\\.database')).toBe('app');
    expect(await page.inputValue('#f-databases\\.0\\.password')).toBe('');
    expect(await page.getAttribute('#f-databases\\.0\\.password', 'placeholder')).toBe('(set — empty keeps it)');
    expect(await page.content()).not.toContain(PW);
    // add a second row: all MariaDB databases in a container
    await page.selectOption('#f-databases\\.1\\.engine', 'mariadb');
    await page.fill('#f-databases\\.1\\.database', '*');
    await page.fill('#f-databases\\.1\\.container', 'wiki-mariadb');
    await shot(page, 'schedule-databases');
    await submitAndReload(page, '#schedule-form button[type=submit]');
    const [edited] = (await svc.schedules.list(hostId)).items;
    expect(edited?.databases).toEqual([
      { engine: 'postgres', database: 'app', host: '127.0.0.1', port: 5432, user: 'backup', has_password: true },
      { engine: 'mariadb', all: true, container: 'wiki-mariadb', has_password: false },
    ]);
    expect((await svc.schedules.scheduleSet(hostId)).schedules[0]?.databases?.[0]?.password).toBe(PW);
    expect(await page.textContent('main')).toContain('mariadb:*@wiki-mariadb');

    // choosing "remove" for a row drops it
    await page.goto(`/hosts/${hostId}/schedules?edit=${created!.id}`);
    await page.selectOption('#f-databases\\.1\\.engine', '');
    await submitAndReload(page, '#schedule-form button[type=submit]');
    expect((await svc.schedules.list(hostId)).items[0]?.databases).toHaveLength(1);
    expect(await page.content()).not.toContain(PW);
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
