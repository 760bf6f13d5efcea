import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { X25519Identity } from '@restic-manager/vault';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { ADMIN_PASSWORD, eventually, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { describeInChromium, shot, submitAndReload, useBrowser } from './browser-fixture.js';

/*
 * Vault drills in Chromium (issue 16, docs/recoverability.md "Vault drills"): the dashboard says
 * vault restores are unproven and why → an admin trusts the second host on its Settings tab (which
 * shows the identity's public recipient) → Vault drill on the vault card → the job succeeds → the
 * host page says the vault restore is proven, and the dashboard no longer lists it as unproven.
 */

const missing = restoreStackTools.map((t) => `'${t}' is not on PATH`);

describeInChromium('vault drills in Chromium', { timeout: 150_000, missing }, () => {
  let s: RestoreStack;
  let a: StackAgent;
  let b: StackAgent;
  let keys: TempDir;
  const id = X25519Identity.generate();
  const fx = useBrowser(() => s.server.url);

  beforeAll(async () => {
    keys = await tempDir('rm-ui-vault-identity-');
    const identityFile = path.join(keys.path, 'identity.txt');
    fs.writeFileSync(identityFile, `${id.toString()}\n`, { mode: 0o600 });
    s = await startRestoreStack(['vault-ui-a', 'vault-ui-b'], { agentEnv: (name): Record<string, string> => (name === 'vault-ui-b' ? { RM_VAULT_IDENTITY_FILE: identityFile } : {}) });
    fx.defer('close the restore stack', () => s.close());
    [a, b] = s.agents as [StackAgent, StackAgent];
    const src = path.join(s.tmp.path, 'vdata');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'one.bin'), randomBytes(512 * 1024));
    fs.writeFileSync(path.join(src, 'two.txt'), 'ui vault drill\n'.repeat(500));
    const put = await s.api.req('PUT', `/api/hosts/${a.hostId}/vault`, { storage: { type: 'local', path: path.join(s.tmp.path, 'vault-store') }, age_recipient: id.recipient.toString() });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const job = await s.waitJob(await s.runJob(a.hostId, 'vault_backup', { paths: [src] }), 120_000);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    await eventually(async () => ((await s.api.req('GET', `/api/hosts/${a.hostId}/vault`)).body.snapshots?.length === 1 ? true : null), 20_000, 'the vault snapshot listed');
  }, 120_000);
  afterAll(async () => keys?.cleanup());

  it('trust a host on its Settings tab, drill from the vault card, and the vault restore is proven', async () => {
    const { page, pageErrors } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
    await page.goto('/');
    expect(await page.locator('#vault-unproven').innerText()).toMatch(/Vault restores are unproven: vault-ui-a \(no host is trusted for vault drills/);

    await page.goto(`/hosts/${b.hostId}/settings`);
    expect(await page.locator('#vault-identity-status').innerText()).toContain(id.recipient.toString());
    await submitAndReload(page, '#vault-drill-trust-toggle');
    await expect.poll(() => page.locator('#vault-drill-trust .card-head').innerText()).toContain('trusted');
    expect(await page.locator('#vault-drill-trust-toggle').innerText()).toBe('Stop trusting for vault drills');

    await page.goto(`/hosts/${a.hostId}`);
    await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.click('#vault-drill')]);
    await expect.poll(() => page.locator('[data-job-status]').first().innerText(), { timeout: 90_000 }).toBe('succeeded');
    expect(await page.textContent('main')).toContain('vault-ui-b');

    await page.goto(`/hosts/${a.hostId}`);
    expect(await page.locator('#host-vault-proven').innerText()).toBe('vault restore proven');
    expect(await page.locator('#host-last-proven-restore').innerText()).toMatch(/^last proven restore: .*, 2 files, RTO ≈/);
    await shot(page, 'vault-drill-host');
    await page.goto('/');
    expect(await page.locator('#vault-unproven').count()).toBe(0);
    expect(await page.content()).not.toContain(id.toString());
    expect(pageErrors).toEqual([]);
  });
});
