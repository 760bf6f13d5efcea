import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { makeCorpus, startRestServer } from '@restic-manager/testkit';
import type { RestServer, TempDir } from '@restic-manager/testkit';
import type { Session } from './browser-fixture.js';
import { ADMIN, describeInChromium, reasons, shot, useUiSuite } from './browser-fixture.js';
import { enrollAgent, rcloneCheck, resticCheck, runAgent } from './ui-harness.js';

/*
 * The operator's path through the web UI in real Chromium, against a real server, a real
 * agent process running real restic, and a real `rclone serve restic` REST server.
 */

describeInChromium('web UI in Chromium: add host → enroll → Run now → live log → snapshot', { timeout: 120_000, missing: reasons(resticCheck, rcloneCheck) }, () => {
  // signed in by the first test, which checks the sign-in form itself
  const fx = useUiSuite({ signIn: false });
  let rest: RestServer;
  let admin: Session;
  let work: TempDir;
  let hostId = '';
  const REST_USER = 'web01';
  const REST_PASS = 'rest-password-for-web01';

  beforeAll(async () => {
    work = await fx.tempDir('rm-ui-flow-');
    // big enough that the backup outlives the redirect + WebSocket connect, small enough to be quick
    await makeCorpus(path.join(work.path, 'data'), { files: 120, totalBytes: 16_000_000, seed: 'ui-flow' });
    rest = await startRestServer({ users: { [REST_USER]: REST_PASS }, appendOnly: true, privateRepos: true });
    fx.defer('stop the REST server', () => rest.stop());
  });

  it('signs in; a wrong password gets the generic message', async () => {
    const { page } = await fx.open();
    await page.goto('/');
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot(page, 'login');
    await page.fill('#f-username', 'admin');
    await page.fill('#f-password', 'not-the-password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toContain('Invalid username or password');
    admin = await fx.open({ as: ADMIN, scope: 'file' });
    expect(new URL(admin.page.url()).pathname).toBe('/');
  });

  it('adds a host: shows the token, the generated password once, the htpasswd line and the install command', async () => {
    const { page } = admin;
    await page.click('text=+ Add host');
    await page.waitForURL('**/hosts/new');
    await shot(page, 'add-host');
    await page.fill('#f-name', 'web01');
    await page.fill('#f-tags', 'prod, web');
    await page.fill('[name="repository.url"]', rest.repoUrl(REST_USER));
    await page.fill('[name="repository.rest_username"]', REST_USER);
    await page.fill('[name="repository.rest_password"]', REST_PASS);
    await page.click('text=Create host and token');
    await page.waitForSelector('#enroll-token');
    const install = await page.textContent('#install-command');
    expect(install).toMatch(/^curl -fsSL http:\/\/127\.0\.0\.1:\d+\/install\/install\.sh \| sudo .*bash$/);
    expect(await page.textContent('#generated-password')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(await page.locator('#enroll-watch').getAttribute('data-enrolled')).toBeNull();
  });

  it('enrolls a real agent with the shown token; the page shows the host appear, then online on the dashboard', async () => {
    const { page } = admin;
    const token = (await page.textContent('#enroll-token'))?.trim() ?? '';
    const state = path.join(work.path, 'agent-state');
    const r = await enrollAgent(fx.url, token, state);
    expect(r.code, r.output).toBe(0);
    const agent = runAgent(state);
    fx.defer('stop the agent', () => agent.stop());
    await page.waitForSelector('#enroll-watch[data-enrolled="true"]', { timeout: 20_000 });
    hostId = (await page.locator('#enroll-watch a').getAttribute('href'))?.split('/').pop() ?? '';
    expect(hostId).not.toBe('');
    await page.goto('/');
    const row = page.locator(`tr[data-host-id="${hostId}"]`);
    await expect.poll(async () => {
      await page.reload();
      return row.locator('.badge').first().textContent();
    }, { timeout: 20_000 }).toBe('online');
    // whole-row click opens the host
    // (force: the stretched link's ::after overlay receives the click, which is the point)
    await row.locator('td').nth(3).click({ force: true });
    await page.waitForURL(`**/hosts/${hostId}`);
  });

  it('initialises the repository from the Run now panel (HX-Redirect to the job page)', async () => {
    const { page } = admin;
    page.once('dialog', (d) => void d.accept());
    await page.click('text=Initialise repo');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.locator('#job-summary').getAttribute('data-status'), { timeout: 30_000 }).toBe('succeeded');
  });

  it('Run now → redirected to the job page → the live log streams → succeeded → snapshot listed', async () => {
    const { page } = admin;
    await page.goto(`/hosts/${hostId}`);
    await page.fill('[name="args.paths"]', path.join(work.path, 'data'));
    const frames: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
    await page.click('#run-now');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    const jobUrl = page.url();
    await page.waitForSelector('.log .line', { timeout: 30_000 });
    await expect.poll(() => page.locator('#job-summary').getAttribute('data-status'), { timeout: 60_000 }).toBe('succeeded');
    expect(await page.locator('.log .line').count()).toBeGreaterThan(0);
    // frames really arrived over WS /api/jobs/:id/stream, ending with the job's own job.finished
    const types = frames.map((f) => (JSON.parse(f) as { type: string }).type);
    expect(types).toContain('log.stream');
    expect(types[types.length - 1]).toBe('job.finished');
    await expect.poll(() => page.locator('.live-dot').first().textContent()).toContain('Finished');
    await page.goto(jobUrl);
    await shot(page, 'job');
    await page.goto(`/hosts/${hostId}`);
    // no reload: the snapshot list polls every 10 s (if the report was not already in)
    await page.locator('#snapshots tbody tr').waitFor({ timeout: 15_000 });
    expect(await page.locator('#snapshots tbody tr').count()).toBe(1);
    expect(await page.textContent('#snapshots tbody tr')).toContain(path.join(work.path, 'data'));
    await shot(page, 'host');
  });

  it('a fast-failing job still shows its final state (late subscriber gets the synthetic job.finished)', async () => {
    const { page } = admin;
    await page.goto(`/hosts/${hostId}`);
    await page.fill('[name="args.paths"]', '/nonexistent/ui-test-path');
    await page.click('#run-now');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.locator('#job-summary').getAttribute('data-status'), { timeout: 30_000 }).toBe('failed');
    await expect.poll(() => page.locator('.live-dot').first().textContent()).toContain('Finished');
    expect(await page.locator('#job-summary .alert-box.danger').count()).toBe(1);
  });

  it('a server-side validation error appears as a toast and next to the field', async () => {
    const { page } = admin;
    await page.goto(`/hosts/${hostId}/settings`);
    await page.fill('#f-tags', 'ok, not valid!');
    await page.click('text=Save tags');
    const toast = page.locator('.toast[data-kind="error"]');
    await toast.waitFor();
    expect(await toast.textContent()).toMatch(/tags/);
    expect(await page.locator('[data-field-error="tags.1"], [data-field-error="tags"]').first().isVisible()).toBe(true);
    await page.goto('/hosts/new');
    await page.fill('#f-name', 'x');
    await page.fill('[name="repository.url"]', 'rest:https://user:secret@example.net/repo/');
    await page.click('text=Create host and token');
    await page.locator('.toast[data-kind="error"]').waitFor();
    expect(await page.locator('.toast[data-kind="error"]').textContent()).toContain('rest_username');
    expect(await page.locator('[data-field-error="repository.url"]').isVisible()).toBe(true);
    expect(admin.pageErrors).toEqual([]);
  });
});
