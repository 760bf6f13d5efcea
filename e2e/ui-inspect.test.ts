import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_PASSWORD, eventually } from './agent-harness.js';
import { describeInChromium, shotOf, useBrowser } from './browser-fixture.js';
import type { Session } from './browser-fixture.js';
import type { LocalStack } from './local-stack.js';
import { localStackTools, startLocalStack } from './local-stack.js';

/*
 * Issue 16 in Chromium, with the real agent and restic: the restore page's "What changed" card
 * lists what a snapshot changed against its parent; the schedule editor's Preview shows which
 * snapshots the edited policy keeps (and by which rule) and removes.
 */

describeInChromium('web UI in Chromium: what changed, retention preview', { timeout: 120_000, missing: localStackTools.map((t) => `${t} is not installed`) }, () => {
  let s: LocalStack;
  const fx = useBrowser(() => s.server.url);
  let admin: Session;
  let snaps: { id: string; short_id: string; time: string }[] = [];

  beforeAll(async () => {
    s = await startLocalStack();
    admin = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD }, scope: 'file' });
    const src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'first\n');
    expect((await s.waitJob(await s.runJob('backup', { paths: [src] }))).status).toBe('succeeded');
    fs.writeFileSync(path.join(src, 'b.txt'), 'added\n');
    fs.rmSync(path.join(src, 'a.txt'));
    expect((await s.waitJob(await s.runJob('backup', { paths: [src] }))).status).toBe('succeeded');
    snaps = await eventually(async () => {
      const r = await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots`);
      return r.body.total === 2 ? (r.body.items as { id: string; short_id: string; time: string }[]) : null;
    }, 20_000, 'two snapshots reported');
    snaps.sort((a, b) => a.time.localeCompare(b.time));
  }, 90_000);

  afterAll(async () => {
    await s?.close();
  });

  it('"What changed" on the restore page lists the changes against the parent', async () => {
    const { page } = admin;
    await page.goto(`/hosts/${s.hostId}/restore?snapshot=${snaps[1]!.id}`);
    await page.locator('#what-changed summary').click();
    const rows = page.locator('#diff-changes tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    const text = (await page.locator('#diff-changes').textContent()) ?? '';
    expect(text).toMatch(/\+\s*added\s*\S*b\.txt/);
    expect(text).toMatch(/-\s*removed\s*\S*a\.txt/);
    expect(await page.locator('#diff-summary').textContent()).toContain(snaps[0]!.short_id);
    await shotOf(page.locator('#what-changed'), 'what-changed');
  });

  it('Preview in the schedule editor shows kept snapshots with their rule and removed ones', async () => {
    const { page } = admin;
    await page.goto(`/hosts/${s.hostId}/schedules`);
    await page.locator('#f-kind').selectOption('forget');
    await page.locator('[id="f-retention_policy.keep_last"]').fill('1');
    await page.locator('#forget-preview-btn').click();
    const table = page.locator('#forget-preview-table');
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 20_000 }).toBe(2);
    const kept = table.locator(`tr[data-action="keep"]`);
    expect(await kept.getAttribute('data-snapshot-id')).toBe(snaps[1]!.id);
    expect(await kept.textContent()).toContain('keep last');
    expect(await table.locator(`tr[data-action="remove"]`).getAttribute('data-snapshot-id')).toBe(snaps[0]!.id);
    await shotOf(page.locator('#forget-preview'), 'forget-preview');
    // a dry run: both snapshots are still there
    const left = await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots`);
    expect(left.body.total).toBe(2);
  });
});
