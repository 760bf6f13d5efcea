import { beforeAll, expect, it } from 'vitest';
import { seedTrends } from '../bench/lib/trend-seed.js';
import { ADMIN, describeInChromium, shot, useUiSuite } from './browser-fixture.js';

/*
 * Repo trends and agent versions in Chromium: a host with seeded trend points (10 daily + 48
 * hourly per metric) plus one real repo.stats frame applied through the agent-events service;
 * one host whose agent is a minor version behind the server and one that is current.
 */
describeInChromium('trend charts and agent version badges in Chromium', { timeout: 120_000 }, () => {
  const fx = useUiSuite();
  const OLD = 'host-old-agent';
  const NEW = 'host-new-agent';

  beforeAll(async () => {
    const server = fx.server.services.agentVersions.serverVersion;
    const now = new Date().toISOString();
    for (const [id, name, version] of [[OLD, 'old-agent', '0.0.1'], [NEW, 'new-agent', server]] as const) {
      await fx.server.db.insertInto('hosts').values({
        id, name, status: 'online', tags: '[]', created_at: now, enrolled_at: now, last_seen_at: now, agent_version: version, restic_version: '0.17.3', hostname: name,
      } as never).execute();
    }
    await seedTrends(fx.server.db, OLD, { days: 10, hourlyDays: 2 });
    const host = await fx.server.db.selectFrom('hosts').selectAll().where('id', '=', OLD).executeTakeFirstOrThrow();
    await fx.server.services.agentEvents.repoStats(host, { type: 'repo.stats', size_bytes: 60 * 1024 ** 3, snapshot_count: 170, dedup_ratio: 1.9 });
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    await fx.server.db.insertInto('fleet_trend').values({ day: yesterday.slice(0, 10), total_bytes: 50 * 1024 ** 3, hosts: 1, updated_at: yesterday }).execute();
  });

  it('the Repo tab draws one point per stored value in each chart, with a title, a description and hover values', async () => {
    const { page } = fx.admin;
    await page.goto(`/hosts/${OLD}/repo`);
    const size = page.locator('#chart-size_bytes');
    // 10 daily + 48 hourly seeded points + the repo.stats frame.
    expect(await size.getAttribute('data-points')).toBe('59');
    expect(await size.locator('svg .pts circle').count()).toBe(59);
    expect(await size.locator('svg circle.daily').count()).toBe(10);
    expect(await size.locator('svg > title').textContent()).toBe('Repository size');
    expect(await size.locator('svg > desc').textContent()).toMatch(/^59 points from \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}; lowest .*latest 60\.0 GiB\.$/);
    expect(await size.locator('svg .pts circle').last().locator('title').textContent()).toMatch(/UTC: 60\.0 GiB$/);
    expect(await size.locator('svg text.tick').allTextContents()).toContain('60.0 GiB');
    // Per-backup series were only seeded (no real backup): 58 points each.
    expect(await page.locator('#chart-added_bytes svg .pts circle').count()).toBe(58);
    expect(await page.locator('#chart-dedup_ratio figcaption').textContent()).toContain('latest 1.90×');
    // Table fallback: the latest points, newest first.
    await size.locator('summary').click();
    expect(await size.locator('tbody tr').count()).toBe(10);
    expect(await size.locator('tbody tr').first().locator('td.num').textContent()).toBe('60.0 GiB');
    expect(fx.admin.pageErrors).toEqual([]);
    await shot(page, 'host-repo-trends');
  });

  it('on a phone-sized screen every chart fits the viewport', async () => {
    // (The host page's Run now buttons and tabs overflow at 390 px already — not the charts' doing.)
    const phone = await fx.open({ as: ADMIN, viewport: { width: 390, height: 844 } });
    await phone.page.goto(`/hosts/${OLD}/repo`);
    const rights = (await phone.page.evaluate(`[...document.querySelectorAll('#trends .chart')].map((e) => Math.ceil(e.getBoundingClientRect().right))`)) as number[];
    expect(rights).toHaveLength(6);
    expect(rights.filter((r) => r > 390)).toEqual([]);
    await shot(phone.page, 'host-repo-trends-phone');
  });

  it('a host without trend data shows the empty state, not a broken chart', async () => {
    await fx.admin.page.goto(`/hosts/${NEW}/repo`);
    expect(await fx.admin.page.locator('#chart-size_bytes').getAttribute('data-points')).toBe('0');
    expect(await fx.admin.page.locator('#chart-size_bytes .chart-empty').count()).toBe(1);
  });

  it('"agent N versions behind" appears for the old agent (with the admin notify button) and "up to date" for the current one', async () => {
    const { page } = fx.admin;
    await page.goto(`/hosts/${OLD}`);
    expect(await page.locator('#host-agent-version').textContent()).toContain('agent 1 minor version behind');
    expect(await page.locator('#host-agent-version .agent-behind').getAttribute('data-agent-behind')).toBe('1');
    // The agent is not connected: the notice cannot be delivered and the toast says so.
    await page.click('#agent-update');
    await page.locator('.toast', { hasText: 'the agent is offline' }).waitFor({ timeout: 5000 });

    await page.goto(`/hosts/${NEW}`);
    expect(await page.locator('#host-agent-version').textContent()).toContain('up to date');
    expect(await page.locator('#host-agent-version .agent-behind').count()).toBe(0);
    expect(await page.locator('#agent-update').count()).toBe(0);

    await page.goto('/');
    expect(await page.locator(`tr[data-host-id="${OLD}"] .agent-behind`).count()).toBe(1);
    expect(await page.locator(`tr[data-host-id="${NEW}"] .agent-behind`).count()).toBe(0);
    expect(await page.locator(`tr[data-host-id="${NEW}"] .agent-cell`).textContent()).toContain('up to date');
    expect(await page.locator('#agents-outdated').textContent()).toBe('1 outdated');
    expect(await page.locator('#fleet-size-trend').getAttribute('data-points')).toBe('2');
    expect(await page.locator('#fleet-size-trend > title').textContent()).toBe('Fleet repository size, last 90 days');
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
