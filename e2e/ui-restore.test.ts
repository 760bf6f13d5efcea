import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { ADMIN_PASSWORD, eventually, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { describeInChromium, shot, useBrowser } from './browser-fixture.js';

/*
 * The restore wizard in Chromium against the real server, a real agent and real restic:
 * Snapshots tab → Restore → expand directories (lazy ls through the agent) → tick one file →
 * alternate directory → Review → Restore now → the job page → succeeded → the file is on disk.
 */

const missing = restoreStackTools.map((t) => `'${t}' is not on PATH`);

describeInChromium('restore wizard in Chromium', { timeout: 120_000, missing }, () => {
  let s: RestoreStack;
  let a: StackAgent;
  let src: string;
  const fx = useBrowser(() => s.server.url);

  beforeAll(async () => {
    s = await startRestoreStack(['wizard-host']);
    fx.defer('close the restore stack', () => s.close());
    a = s.agents[0]!;
    src = path.join(s.tmp.path, 'data');
    fs.mkdirSync(path.join(src, 'projects/site'), { recursive: true });
    fs.writeFileSync(path.join(src, 'projects/site/index.html'), '<h1>hello from the snapshot</h1>\n', { mode: 0o640 });
    fs.chmodSync(path.join(src, 'projects/site/index.html'), 0o640);
    fs.writeFileSync(path.join(src, 'projects/site/other.txt'), 'not selected\n');
    const job = await s.waitJob(await s.runJob(a.hostId, 'backup', { paths: [src] }));
    expect(job.status).toBe('succeeded');
    await eventually(async () => (await s.api.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.total > 0, 20_000, 'the snapshot listed');
    expect((await s.api.req('POST', '/api/users', { username: 'watcher', password: 'watcher-password-1', role: 'viewer' })).status).toBe(201);
  }, 90_000);

  it('restores one ticked file to an alternate directory and lands on the job page, which succeeds', async () => {
    const { page, pageErrors } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
    await page.goto(`/hosts/${a.hostId}`);
    await Promise.all([page.waitForURL(/\/restore\?snapshot=/), page.locator('#snapshots [data-restore]').first().click()]);
    await page.locator('#restore-tree > li.tree-dir').first().waitFor();
    const file = path.join(src, 'projects/site/index.html');
    // Expand every directory on the way down; each expand asks the agent for one listing.
    const parts = file.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      const item = page.locator(`#restore-tree li.tree-dir:has(> input[value="${dir}"])`);
      await item.locator('> details > summary').click();
      await item.locator('> details > ul > li:not(.muted)').first().waitFor();
    }
    await page.locator(`#restore-tree input.tree-pick[value="${file}"]`).check();
    await shot(page, 'restore-wizard-tree');
    expect(await page.locator('#restore-confirm').innerText()).toBe('');
    const target = path.join(s.tmp.path, 'wizard-out');
    await page.fill('#f-target', target);
    await page.click('#restore-review');
    await page.locator('#restore-summary').waitFor();
    expect(await page.locator('#restore-summary').innerText()).toMatch(/overwritten/);
    expect(await page.locator('#restore-summary').innerText()).toContain(file);
    await shot(page, 'restore-wizard');
    await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.click('#restore-submit')]);
    await expect.poll(() => page.locator('[data-job-status]').first().innerText(), { timeout: 60_000 }).toBe('succeeded');
    const out = path.join(target, file);
    expect(fs.readFileSync(out, 'utf8')).toBe('<h1>hello from the snapshot</h1>\n');
    expect(fs.statSync(out).mode & 0o777).toBe(0o640);
    expect(fs.existsSync(path.join(target, src, 'projects/site/other.txt'))).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it('shows a viewer no restore controls and refuses the wizard', async () => {
    const { page } = await fx.open({ as: { username: 'watcher', password: 'watcher-password-1' } });
    await page.goto(`/hosts/${a.hostId}`);
    await page.locator('#snapshots').waitFor();
    expect(await page.locator('[data-restore]').count()).toBe(0);
    const r = await page.goto(`/hosts/${a.hostId}/restore`);
    expect(r?.status()).toBe(403);
  });
});
