import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { ADMIN_PASSWORD, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { describeInChromium, shot, useBrowser, submitAndReload } from './browser-fixture.js';

/*
 * Restore drills in Chromium against the real server, two real agents and real restic (issue 16):
 * the host page says no restore is proven yet → Drill now on the second host → the job page
 * succeeds → the host page says "last proven restore: … ago, N files, RTO ≈ …", as does the
 * dashboard; the schedule editor offers restore_drill with a drill host.
 */

const missing = restoreStackTools.map((t) => `'${t}' is not on PATH`);

describeInChromium('restore drills in Chromium', { timeout: 150_000, missing }, () => {
  let s: RestoreStack;
  let a: StackAgent;
  let b: StackAgent;
  const fx = useBrowser(() => s.server.url);

  beforeAll(async () => {
    s = await startRestoreStack(['drilled-host', 'drill-host']);
    fx.defer('close the restore stack', () => s.close());
    [a, b] = s.agents as [StackAgent, StackAgent];
    const src = path.join(s.tmp.path, 'data');
    fs.mkdirSync(path.join(src, 'www'), { recursive: true });
    fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
    for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(src, 'www', `page-${i}.html`), `<p>page ${i}</p>\n`.repeat(20 + i));
    fs.writeFileSync(path.join(src, 'etc', 'site.conf'), 'listen 80\n');
    const job = await s.waitJob(await s.runJob(a.hostId, 'backup', { paths: [path.join(src, 'www'), path.join(src, 'etc')] }));
    expect(job.status).toBe('succeeded');
  }, 90_000);

  it('Drill now on another host proves a restore, shown on the host page and the dashboard', async () => {
    const { page, pageErrors } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
    await page.goto(`/hosts/${a.hostId}`);
    expect(await page.locator('#host-last-proven-restore').innerText()).toBe('last proven restore: none yet');
    await page.selectOption('#drill-now-host', b.hostId);
    await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.click('#drill-now')]);
    await expect.poll(() => page.locator('[data-job-status]').first().innerText(), { timeout: 90_000 }).toBe('succeeded');
    expect(await page.textContent('main')).toContain('drill-host');

    await page.goto(`/hosts/${a.hostId}`);
    const proven = await page.locator('#host-last-proven-restore').innerText();
    expect(proven).toMatch(/^last proven restore: .*(ago|now).*, \d+ files, RTO ≈ \d+(\.\d)? (s|min|h)$/);
    await shot(page, 'restore-drill-host');
    await page.goto('/');
    const card = await page.locator('#restore-drills').innerText();
    expect(card).toContain('drilled-host');
    expect(card).toMatch(/last proven restore: .*\d+ files, RTO ≈/);
    expect(pageErrors).toEqual([]);
  });

  it('the schedule editor offers restore_drill with a drill host, and saves it as a server-fired schedule', async () => {
    const { page } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
    await page.goto(`/hosts/${a.hostId}/schedules`);
    expect(await page.locator('#f-kind option[value="restore_drill"]').count()).toBe(1);
    await page.selectOption('#f-kind', 'restore_drill');
    await page.fill('#f-cron_expr', '0 5 * * 0');
    await page.selectOption('#f-drill_host_id', b.hostId);
    await submitAndReload(page, '#schedule-form button[type=submit]');
    await expect.poll(() => page.textContent('#schedule-actions')).toContain('restore_drill · 0 5 * * 0');
    const items = (await s.api.req('GET', `/api/hosts/${a.hostId}/schedules`)).body.items as { kind: string; drill_host_id: string | null }[];
    expect(items.find((i) => i.kind === 'restore_drill')).toMatchObject({ drill_host_id: b.hostId });
    // Server-fired: the agent's schedule.set never carries it.
    const frame = await s.server.services.schedules.scheduleSet(a.hostId);
    expect(frame.schedules.some((x) => x.kind === 'restore_drill')).toBe(false);
  });
});
