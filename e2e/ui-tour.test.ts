import { beforeAll, expect, it } from 'vitest';
import { seedFleet } from '../bench/lib/ui-seed.js';
import { ADMIN, describeInChromium, shot, useUiSuite } from './browser-fixture.js';

/*
 * Every page of the UI over a seeded fleet (14 hosts, 400 jobs, snapshots, alerts) in real
 * Chromium: the screenshot tour for docs/screenshots, polling, filters, acknowledging an
 * alert, user management, and what a viewer can (not) do — including forged POSTs.
 */

describeInChromium('web UI tour and roles in Chromium', { timeout: 120_000 }, () => {
  const fx = useUiSuite();
  let hostIds: string[] = [];
  let jobIds: string[] = [];
  const VIEWER_PASS = 'viewer-password-123';

  beforeAll(async () => {
    ({ hostIds, jobIds } = await seedFleet(fx.server.db, { hosts: 14, jobs: 400, snapshotsPerHost: 30, alerts: 6 }));
  });

  it('dashboard: fleet summary, whole-row links, status filter, and 10-second polling picks up a new host', async () => {
    const { page } = fx.admin;
    await page.goto('/');
    expect(await page.locator('#hosts tbody tr').count()).toBe(14);
    // hosts, repository data (with the fleet sparkline), open alerts, jobs of 24 h, agents behind the server
    expect(await page.locator('#fleet .stat').count()).toBe(5);
    expect(await page.locator('#agents-outdated').count()).toBe(1);
    await shot(page, 'dashboard');
    await page.selectOption('#f-status', 'online');
    await expect.poll(() => page.url()).toContain('status=online');
    const online = await page.locator('#hosts tbody tr').count();
    expect(online).toBeGreaterThan(0);
    expect(await page.locator('#hosts tbody .badge:has-text("offline")').count()).toBe(0);
    await page.goto('/');
    await fx.server.db.updateTable('hosts').set({ name: 'aaa-polled-host' }).where('id', '=', hostIds[1] ?? '').execute();
    await page.locator('#hosts a:has-text("aaa-polled-host")').waitFor({ timeout: 15_000 });
  });

  it('the host page polls: a new job appears in the Jobs tab without a reload', async () => {
    const { page } = fx.admin;
    const host = hostIds[2] ?? '';
    await page.goto(`/hosts/${host}/jobs`);
    const id = '00000000-0000-4000-a000-00000000beef';
    const now = new Date().toISOString();
    await fx.server.db.insertInto('jobs').values({ id, host_id: host, kind: 'check', status: 'queued', schedule_id: null, actor_kind: 'user', actor_id: null, args_enc: null, created_at: now, started_at: null, finished_at: null, exit_code: null, stats: null, error: null, error_kind: null, progress: null, progress_seq: null, dispatched_at: null }).execute();
    await page.locator(`#jobs a[href="/jobs/${id}"]`).waitFor({ timeout: 15_000 });
    await fx.server.db.deleteFrom('jobs').where('id', '=', id).execute();
  });

  it('dashboard on a phone-sized screen', async () => {
    const { page: p } = await fx.open({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, as: fx.admin });
    await p.goto('/');
    await shot(p, 'dashboard-phone', false);
    const overflow = await p.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(1);
  });

  it('host tabs, jobs, a running job with progress, repos, alerts, audit and settings render', async () => {
    const { page } = fx.admin;
    const host = hostIds[0] ?? '';
    for (const [tab, name] of [['jobs', 'host-jobs'], ['repo', 'host-repo'], ['schedules', 'host-schedules'], ['settings', 'host-settings']] as const) {
      const r = await page.goto(`/hosts/${host}/${tab}`);
      expect(r?.status()).toBe(200);
      expect(await page.getAttribute(`#tab-${tab}`, 'aria-current')).toBe('page');
      await shot(page, name);
    }
    await page.goto('/jobs?status=failed');
    expect(await page.locator('#jobs tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#jobs tbody .badge:has-text("succeeded")').count()).toBe(0);
    await page.goto('/jobs');
    await shot(page, 'jobs');
    const running = await fx.server.db.selectFrom('jobs').select('id').where('status', '=', 'running').executeTakeFirst();
    if (running) {
      await page.goto(`/jobs/${running.id}`);
      expect(await page.isVisible('[data-progress-wrap]')).toBe(true);
      await expect.poll(() => page.locator('.live-dot').first().getAttribute('data-state')).toBe('live');
      await shot(page, 'job-running');
    }
    for (const name of ['repos', 'alerts', 'audit', 'settings']) {
      const r = await page.goto(`/${name}`);
      expect(r?.status()).toBe(200);
      await shot(page, name);
    }
    const missing = await page.goto('/jobs/00000000-0000-4000-a000-000000000000');
    expect(missing?.status()).toBe(404);
    expect(await page.textContent('main')).toContain('not found');
    expect(jobIds.length).toBe(400);
  });

  it('add host with a REST user and no passwords: both are generated and shown once, with the htpasswd line', async () => {
    const { page } = fx.admin;
    await page.goto('/hosts/new');
    await page.fill('#f-name', 'mail-lon-01');
    await page.fill('[name="repository.url"]', 'rest:https://backup.example.net:8000/mail-lon-01/');
    await page.fill('[name="repository.rest_username"]', 'mail-lon-01');
    await page.click('text=Create host and token');
    const line = (await page.locator('#htpasswd-line').textContent({ timeout: 10_000 })) ?? '';
    expect(line).toMatch(/^echo '[A-Za-z0-9_-]{20,}' \| htpasswd -B -i \S+ mail-lon-01$/);
    expect(await page.textContent('#install-command')).toMatch(/\| sudo .*bash$/);
    expect(await page.textContent('#generated-password')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    await shot(page, 'add-host-token');
    // shown once: the host page never shows the secrets again
    const hostId = (await page.getAttribute('#enroll-watch', 'hx-get'))?.split('/').pop() ?? '';
    await page.goto(`/hosts/${hostId}/settings`);
    expect(await page.content()).not.toContain(line.split("'")[1] ?? 'x');
  });

  it('a long finished log is paged; Cancel on a job whose agent is offline shows the server error as a toast', async () => {
    const { page } = fx.admin;
    const job = await fx.server.db.selectFrom('jobs').select(['id']).where('status', '=', 'succeeded').executeTakeFirstOrThrow();
    const rows = Array.from({ length: 620 }, (_, i) => ({ job_id: job.id, seq: i + 1, ts: new Date().toISOString(), stream: 'stdout' as const, payload: `line ${i + 1}` }));
    for (let i = 0; i < rows.length; i += 100) await fx.server.db.insertInto('job_logs').values(rows.slice(i, i + 100)).execute();
    await page.goto(`/jobs/${job.id}`);
    expect(await page.locator('.log .line').count()).toBe(500);
    await page.click('text=Next 500 lines →');
    await page.waitForURL(/after_seq=500$/);
    expect(await page.locator('.log .line').count()).toBe(120);
    expect(await page.locator('.log .line .msg').first().textContent()).toBe('line 501');

    const running = await fx.server.db.selectFrom('jobs').select('id').where('status', '=', 'running').executeTakeFirstOrThrow();
    await page.goto(`/jobs/${running.id}`);
    page.once('dialog', (d) => void d.accept());
    await page.click('#cancel-job');
    const toast = page.locator('.toast[data-kind="error"]');
    await toast.waitFor();
    expect(await toast.textContent()).toContain('offline');
  });

  it('deletes a host only after its name is typed', async () => {
    const { page } = fx.admin;
    const host = await fx.server.db.selectFrom('hosts').select(['id', 'name']).where('name', '=', 'mail-lon-01').executeTakeFirstOrThrow();
    await page.goto(`/hosts/${host.id}/settings`);
    await page.fill('#f-confirm', 'wrong');
    await page.click('button:has-text("Delete host")');
    await page.locator('.toast[data-kind="error"]').waitFor();
    expect(await page.locator('[data-field-error="confirm"]').isVisible()).toBe(true);
    await page.fill('#f-confirm', host.name);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button:has-text("Delete host")')]);
    expect(await fx.server.db.selectFrom('hosts').select('id').where('id', '=', host.id).executeTakeFirst()).toBeUndefined();
  });

  it('sign-in is throttled after repeated failures, with a clear message (other accounts unaffected)', async () => {
    const { page } = await fx.open();
    await page.goto('/login');
    await page.fill('#f-username', 'mallory');
    await page.fill('#f-password', 'guess-again');
    // five free failures (the throttle's allowance), then the form is submitted at once
    for (let i = 0; i < 5; i++) {
      const r = await page.request.post('/login', { form: { username: 'mallory', password: `guess-${i}` }, maxRedirects: 0 });
      expect(r.status()).toBe(401);
    }
    const [resp] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'), page.click('button[type=submit]')]);
    expect(resp.status()).toBe(429);
    expect(await page.textContent('#login-error')).toMatch(/Too many failed sign-ins\. Retry in \d+ s\./);
    const fine = await fx.open({ as: ADMIN });
    expect(new URL(fine.page.url()).pathname).toBe('/');
  });

  it('dark theme', async () => {
    const { page: p } = await fx.open({ colorScheme: 'dark', as: fx.admin });
    await p.goto('/');
    await shot(p, 'dashboard-dark', false);
    expect(fx.admin.pageErrors).toEqual([]);
  });

  it('acknowledges an alert in place', async () => {
    const { page } = fx.admin;
    await page.goto('/alerts');
    const row = page.locator('tr:has(button:has-text("Acknowledge"))').first();
    const id = await row.getAttribute('id');
    await row.locator('button:has-text("Acknowledge")').click();
    await expect.poll(() => page.locator(`#${id ?? ''} .badge`).last().textContent()).toBe('acknowledged');
  });

  it('an admin creates a viewer; the viewer sees no operator controls and forged or role-less POSTs are refused', async () => {
    const { page } = fx.admin;
    await page.goto('/settings');
    await page.fill('#f-username', 'vera');
    await page.fill('#f-password', 'short');
    await page.selectOption('#f-role', 'viewer');
    await page.click('text=Add user');
    await page.locator('.toast[data-kind="error"]').waitFor();
    expect(await page.locator('[data-field-error="password"]').textContent()).toContain('12');
    await page.fill('#f-password', VIEWER_PASS);
    await page.click('text=Add user');
    await page.locator('#users td strong:has-text("vera")').waitFor();

    const viewer = await fx.open({ as: { username: 'vera', password: VIEWER_PASS } });
    const v = viewer.page;
    await v.goto('/');
    expect(await v.locator('button:has-text("Run now")').count()).toBe(0);
    expect(await v.locator('text=+ Add host').count()).toBe(0);
    expect(await v.locator('nav.nav a:has-text("Audit log")').count()).toBe(0);
    await v.goto(`/hosts/${hostIds[0] ?? ''}`);
    expect(await v.locator('#run').count()).toBe(0);
    await v.goto(`/hosts/${hostIds[0] ?? ''}/settings`);
    expect(await v.locator('text=Delete host').count()).toBe(0);
    await v.goto('/alerts');
    expect(await v.locator('button:has-text("Acknowledge")').count()).toBe(0);
    const addHost = await v.goto('/hosts/new');
    expect(addHost?.status()).toBe(403);
    expect(await v.textContent('main')).toContain('requires the admin role');

    const host = hostIds[0] ?? '';
    // forged: the viewer's own session cookie, no CSRF token
    const forged = await v.request.post(`/hosts/${host}/run`, { form: { kind: 'backup', 'args.paths': '/etc' } });
    expect(forged.status()).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('csrf_failed');
    // with the viewer's valid CSRF token: refused by role
    const token = JSON.parse((await v.getAttribute('body', 'hx-headers')) ?? '{}') as Record<string, string>;
    const byRole = await v.request.post(`/hosts/${host}/run`, { form: { kind: 'backup', 'args.paths': '/etc' }, headers: token });
    expect(byRole.status()).toBe(403);
    expect(((await byRole.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    // an admin session without the token is refused too, and nothing was created
    const adminForged = await page.request.post(`/hosts/${host}/run`, { form: { kind: 'check' } });
    expect(adminForged.status()).toBe(403);
    const jobs = await fx.server.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(jobs.n)).toBe(400);
    expect([...fx.admin.pageErrors, ...viewer.pageErrors]).toEqual([]);

    // admin resets vera's password (hx-prompt) and then disables the account: her session ends
    await page.goto('/settings');
    const row = page.locator('#users tr:has(strong:has-text("vera"))');
    page.once('dialog', (d) => void d.accept('a-brand-new-password-42'));
    await row.locator('button:has-text("Reset password")').click();
    await page.locator('.toast[data-kind="ok"]:has-text("reset")').waitFor();
    await v.goto('/');
    expect(new URL(v.url()).pathname).toBe('/login');
    const again = await fx.open({ as: { username: 'vera', password: 'a-brand-new-password-42' } });
    page.once('dialog', (d) => void d.accept());
    await page.locator('#users tr:has(strong:has-text("vera")) button:has-text("Disable")').click();
    await page.locator('#users tr:has(strong:has-text("vera")) .badge:has-text("disabled")').waitFor();
    await again.page.goto('/');
    expect(new URL(again.page.url()).pathname).toBe('/login');
    await again.page.fill('#f-username', 'vera');
    await again.page.fill('#f-password', 'a-brand-new-password-42');
    await again.page.click('button[type=submit]');
    await expect.poll(() => again.page.textContent('#login-error')).toContain('Invalid username or password');
  });
});
