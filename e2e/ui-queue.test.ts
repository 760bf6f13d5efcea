import { expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { describeInChromium, shotOf, useUiSuite } from './browser-fixture.js';

/*
 * The queue view in real Chromium (issue 21): with a fleet-wide cap of 1, a run-now backup holds
 * the slot on one host and a second one waits on another; the Queue page (linked from the nav)
 * shows "waiting for a slot: 1 ahead" (so does the job's page), and updates by itself once the
 * first job ends. The caps
 * card refuses a bad cap naming the line and field, then saves a good one.
 */
describeInChromium('web UI in Chromium: the queue view', { timeout: 90_000 }, () => {
  const fx = useUiSuite();
  const agents: FakeAgent[] = [];

  const connectedHost = async (name: string): Promise<{ hostId: string; agent: FakeAgent }> => {
    const add = await fx.server.services.hosts.addHost({ kind: 'system' }, { name, tags: [], repository: { url: `rest:http://127.0.0.1:9/${name}/`, append_only: true } });
    const enr = await FakeAgent.enroll(fx.url, add.token, name);
    const agent = new FakeAgent({ url: fx.url, bearer: enr.bearer_token, hostname: name });
    agents.push(agent);
    fx.defer(`fake agent ${name}`, () => agent.close());
    await agent.connect();
    return { hostId: add.host_id, agent };
  };

  it('shows the waiting job with "1 ahead", and the page moves on by itself when the slot frees', async () => {
    const a = await connectedHost('queue-a');
    const b = await connectedHost('queue-b');
    await fx.server.services.caps.put({ kind: 'system' }, { caps: [{ scope: 'fleet', max_jobs: 1 }] });
    const first = await fx.server.services.jobs.runNow({ kind: 'system' }, a.hostId, 'backup', { paths: ['/srv'] });
    await a.agent.next('command.run');
    a.agent.started(first.job.id, 'backup');
    const second = await fx.server.services.jobs.runNow({ kind: 'system' }, b.hostId, 'backup', { paths: ['/srv'] });
    expect(second.dispatched).toBe(false);

    const page = fx.admin.page;
    await page.goto('/');
    await Promise.all([page.waitForURL('**/queue'), page.click('nav a:has-text("Queue")')]);
    const waiting = page.locator(`#queue tr[data-job="${second.job.id}"][data-state="waiting"]`);
    await waiting.waitFor();
    expect(await waiting.textContent()).toContain('waiting for a slot: 1 ahead');
    expect(await waiting.textContent()).toContain('queue-b');
    await page.locator(`#queue tr[data-job="${first.job.id}"][data-state="running"]`).waitFor();
    expect(await page.textContent('#queue [data-cap="fleet:"] .card-head')).toContain('1 of 1 running');
    await shotOf(page.locator('#queue'), 'queue-waiting');
    // The waiting job's own page says where it is.
    await Promise.all([page.waitForURL(`**/jobs/${second.job.id}`), waiting.locator('a.mono').click()]);
    expect(await page.textContent('#job-summary [data-slot-ahead]')).toContain('waiting for a slot: 1 ahead');
    await page.goto('/queue');
    await waiting.waitFor();

    // The first job ends: the second is sent, and the page (polling every 5 s) shows it holding the slot.
    a.agent.finished(first.job.id, 'succeeded');
    await b.agent.next('command.run', 10_000);
    await page.locator(`#queue tr[data-job="${second.job.id}"][data-state="running"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('#queue tr[data-state="waiting"]').count()).toBe(0);
  });

  it('the caps card refuses a bad cap naming the line and field, then saves a good one', async () => {
    const page = fx.admin.page;
    await page.goto('/queue');
    await page.fill('#f-caps', 'fleet 2\ntag:db 0');
    await page.click('#caps button[type=submit]');
    await expect.poll(() => page.locator('.toast[data-kind="error"]').first().textContent()).toContain('line 2: max_jobs');
    expect((await fx.server.services.caps.list()).items.map((c) => c.max_jobs)).toEqual([1]);

    await page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())");
    await page.fill('#f-caps', 'fleet 2\ntag:nobody 3');
    await page.click('#caps button[type=submit]');
    await page.locator('.toast[data-kind="ok"]', { hasText: 'Concurrency caps saved' }).waitFor();
    await page.locator('#caps [data-cap-item="tag:nobody"]', { hasText: 'no host has this tag' }).waitFor();
    expect((await fx.server.services.caps.list()).items.map((c) => [c.scope, c.key, c.max_jobs])).toEqual([['fleet', '', 2], ['tag', 'nobody', 3]]);
  });
});
