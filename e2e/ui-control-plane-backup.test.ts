import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeInChromium, reasons, shotOf, useUiSuite } from './browser-fixture.js';
import { resticCheck } from './ui-harness.js';

/*
 * Settings → Control-plane backup in real Chromium (issue 20): the admin picks a repository,
 * gets a field error for a bad cron, saves, clicks Run now and sees the succeeded run with its
 * snapshot id — a real restic snapshot tagged restic-manager-control-plane. The repository's
 * password is never on the page.
 */
const PW = 'ui-control-plane-pw-never-shown';

describeInChromium('web UI in Chromium: the control-plane backup card', { timeout: 90_000, missing: reasons(resticCheck) }, () => {
  const fx = useUiSuite();

  it('saves the schedule (a bad cron named first), Run now shows the snapshot restic holds', async () => {
    const dir = await fx.tempDir('rm-ui-cp-');
    const repoDir = path.join(dir.path, 'repo');
    const init = spawnSync('restic', ['init', '--repo', repoDir], { env: { ...process.env, RESTIC_PASSWORD: PW }, encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    const repo = await fx.server.services.repositories.create({ kind: 'system' }, { name: 'ui-cp-repo', url: repoDir, engine: 'restic', password: PW, import: true });

    const page = fx.admin.page;
    await page.goto('/settings');
    const card = page.locator('#control-plane-backup');
    await card.waitFor();
    expect(await card.getAttribute('id')).toBe('control-plane-backup');
    await page.check('#control-plane-backup input[name="enabled"]');
    await page.selectOption('#f-repository_id', repo.repository.id);
    await page.fill('#f-cron_expr', 'sometimes');
    await page.click('#control-plane-backup button[type=submit]');
    await expect.poll(() => page.locator('.toast[data-kind="error"]').first().textContent()).toContain('cron_expr');

    await page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())");
    await page.fill('#f-cron_expr', '45 1 * * *');
    await page.click('#control-plane-backup button[type=submit]');
    await page.locator('.toast[data-kind="ok"]', { hasText: 'Control-plane backup saved' }).waitFor();
    expect((await fx.server.services.controlPlaneBackup.get()).cron_expr).toBe('45 1 * * *');

    await page.click('#control-plane-backup button:has-text("Run now")');
    await page.locator('#control-plane-backup [data-last-run="succeeded"]').waitFor({ timeout: 60_000 });
    const id = (await page.textContent('#control-plane-backup [data-snapshot-id]'))?.trim() ?? '';
    const list = spawnSync('restic', ['--no-cache', 'snapshots', '--json', '--tag', 'restic-manager-control-plane'], { env: { ...process.env, RESTIC_REPOSITORY: repoDir, RESTIC_PASSWORD: PW }, encoding: 'utf8' });
    expect((JSON.parse(list.stdout) as { short_id: string }[]).map((s) => s.short_id)).toEqual([id]);
    expect(await page.content()).not.toContain(PW);
    await shotOf(page.locator('#control-plane-backup'), 'settings-control-plane-backup');
  });
});
