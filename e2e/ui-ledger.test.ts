import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeInChromium, shot, useUiSuite } from './browser-fixture.js';

/*
 * The snapshot ledger on the repository page in real Chromium (issue 16): a repository whose
 * listing lost a snapshot without an authorised forget shows the red "frozen" banner and the
 * ledger with the vanished snapshot first; the admin's Acknowledge button (with a confirmation)
 * lifts the freeze, and the page then shows the snapshot as acknowledged.
 */
describeInChromium('web UI in Chromium: the snapshot ledger and the frozen banner', { timeout: 90_000 }, () => {
  const fx = useUiSuite();

  it('shows the frozen banner and the ledger, gone first; the admin acknowledges and the banner goes', async () => {
    const services = fx.server.services;
    const hostId = await fx.addHost('ui-ledger');
    const repo = await services.repositories.create({ kind: 'system' }, { name: 'ui-ledger-repo', url: '/srv/restic/ui-ledger', engine: 'restic', password: 'ui-ledger-repository-pw', import: true });
    const repoId = repo.repository.id;
    const snap = (time: string) => {
      const id = randomBytes(32).toString('hex');
      return { id, short_id: id.slice(0, 8), time, hostname: 'ui-ledger', paths: ['/srv/www', '/etc'], tags: [] };
    };
    const kept = snap('2026-11-02T08:00:00.000Z');
    const lost = snap('2026-11-01T08:00:00.000Z');
    const host = { id: hostId, name: 'ui-ledger' };
    // Two listings of the repository, as snapshots.report would deliver them: the second lacks one.
    await services.ledger.snapshotsReported({ host, repoId, at: '2026-11-02T09:00:00.000Z' }, [kept, lost]);
    await services.ledger.snapshotsReported({ host, repoId, at: '2026-11-03T09:00:00.000Z' }, [kept]);

    const page = fx.admin.page;
    await page.goto(`/repositories/${repoId}`);
    const banner = page.locator('#repository-frozen');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('1 snapshot vanished without an authorised forget');
    const rows = page.locator('#ledger tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).getAttribute('data-ledger-snapshot')).toBe(lost.short_id);
    expect(await rows.nth(0).getAttribute('data-state')).toBe('vanished');
    expect(await rows.nth(1).getAttribute('data-state')).toBe('present');
    await shot(page, 'repository-ledger-frozen');

    page.once('dialog', (d) => void d.accept());
    await banner.locator('button', { hasText: 'Acknowledge and unfreeze' }).click();
    await expect.poll(() => page.locator('#repository-frozen').count()).toBe(0);
    await expect.poll(() => page.locator(`#ledger tr[data-ledger-snapshot="${lost.short_id}"]`).getAttribute('data-state')).toBe('acknowledged');
    expect((await services.repositories.get(repoId)).frozen_since).toBeNull();
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
