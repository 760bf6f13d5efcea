import { beforeAll, expect, it } from 'vitest';
import type { SmtpReceiver } from '../packages/server/test/helpers/receivers.js';
import { startSmtpReceiver } from '../packages/server/test/helpers/receivers.js';
import { describeInChromium, shot, useUiSuite } from './browser-fixture.js';

/*
 * Settings → Notification channels in real Chromium: an admin adds an e-mail channel pointed at
 * a real SMTP server on loopback (npm smtp-server), gets a field error for a bad port, saves,
 * clicks Send test, sees the success toast and the mail arrives; a wrong password's Send test
 * shows the SMTP error as a toast. Alert rules save with a toast; the Alerts page filters by kind.
 */
const SMTP_PASSWORD = 'ui-smtp-password-never-shown';

describeInChromium('web UI in Chromium: notification channels and alert rules', { timeout: 90_000 }, () => {
  const fx = useUiSuite();
  let smtp: SmtpReceiver;

  beforeAll(async () => {
    smtp = await startSmtpReceiver('rm-alerts', SMTP_PASSWORD);
    fx.defer('close the SMTP receiver', () => smtp.close());
  });

  it('adds an e-mail channel (field error for a bad port first), Send test shows a success toast and the mail arrives', async () => {
    const page = fx.admin.page;
    await page.goto('/settings');
    await page.selectOption('#f-type', 'email');
    await page.locator('[name="config.host"]').waitFor();
    await page.fill('#f-name', 'On-call mail');
    await page.fill('[name="config.host"]', '127.0.0.1');
    await page.fill('[name="config.port"]', '99999');
    await page.selectOption('[name="config.tls"]', 'none');
    await page.fill('[name="config.username"]', 'rm-alerts');
    await page.fill('[name="config.password"]', SMTP_PASSWORD);
    await page.fill('[name="config.from"]', 'restic-manager@example.org');
    await page.fill('[name="config.to"]', 'ops@example.org, oncall@example.org');
    await page.check('input[name="kinds"][value="backup_failed"]');
    await page.click('#channel-form button[type=submit]');
    await expect.poll(() => page.textContent('[data-field-error="config.port"]')).toBe('a port is 1–65535');
    expect(await page.getAttribute('[name="config.port"]', 'aria-invalid')).toBe('true');
    expect(await page.locator('.toast[data-kind="error"]').first().textContent()).toContain('config.port');
    expect(await page.locator('#channels tbody tr').count()).toBe(0);

    await page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())");
    await page.fill('[name="config.port"]', String(smtp.port));
    await page.click('#channel-form button[type=submit]');
    const row = page.locator('#channels tbody tr', { hasText: 'On-call mail' });
    await row.waitFor();
    expect(await row.textContent()).toContain('never sent');
    expect(await page.textContent('#channels')).not.toContain(SMTP_PASSWORD);

    await row.locator('button:has-text("Send test")').click();
    const ok = page.locator('.toast[data-kind="ok"]', { hasText: 'Test sent' });
    await ok.waitFor();
    expect(await ok.textContent()).toMatch(/accepted by 127\.0\.0\.1/);
    await expect.poll(() => smtp.mails.length).toBe(1);
    expect(smtp.mails[0]!.subject).toBe('[restic-manager] test notification');
    expect(smtp.mails[0]!.to).toEqual(['ops@example.org', 'oncall@example.org']);
    await expect.poll(() => page.locator('#channels tbody tr', { hasText: 'On-call mail' }).textContent()).toContain('delivered');
    await shot(page, 'settings-notifications');
    expect(fx.admin.pageErrors).toEqual([]);
  });

  it('shows the real SMTP error of a wrong password as a toast and in the row, without the password', async () => {
    const page = fx.admin.page;
    await page.goto('/settings');
    await page.locator('#channels tbody tr', { hasText: 'On-call mail' }).locator('button:has-text("Edit")').click();
    await page.locator('#channel-form h3', { hasText: 'Edit' }).waitFor();
    await page.fill('[name="config.password"]', 'not-the-password-1');
    await page.click('#channel-form button[type=submit]');
    await page.locator('.toast[data-kind="ok"]', { hasText: 'saved' }).waitFor();
    await page.locator('#channels tbody tr', { hasText: 'On-call mail' }).locator('button:has-text("Send test")').click();
    const err = page.locator('.toast[data-kind="error"]', { hasText: 'failed' });
    await err.waitFor();
    expect(await err.textContent()).toMatch(/SMTP authentication failed/);
    expect(await err.textContent()).not.toContain('not-the-password-1');
    await expect.poll(() => page.textContent('#channels [data-channel-error]')).toMatch(/535/);
  });

  it('saves alert rules with a toast and rejects a bad threshold next to its field', async () => {
    const page = fx.admin.page;
    await page.goto('/settings');
    await page.fill('#f-agent_offline_minutes', '0');
    await page.click('#alert-rules button[type=submit]');
    await expect.poll(() => page.textContent('[data-field-error="agent_offline_minutes"]')).toBe('at least 1 minute');
    await page.fill('#f-agent_offline_minutes', '30');
    await page.click('#alert-rules button[type=submit]');
    await page.locator('.toast[data-kind="ok"]', { hasText: 'Alert rules saved' }).waitFor();
    expect((await fx.server.services.alertRules.settings()).agent_offline_minutes).toBe(30);
  });

  it('lists alerts with kind, severity, host and times, filtered by kind and open/resolved', async () => {
    const svc = fx.server.services;
    const hostId = await fx.addHost('alerty');
    await svc.fleet.setAlert(hostId, 'repo_growth', true, 'repository of alerty grew 80%', 'warning');
    await svc.fleet.setAlert(hostId, 'check_failed', true, 'repository check of alerty failed', 'critical');
    await svc.fleet.setAlert(hostId, 'check_failed', false, '');
    const page = fx.admin.page;
    await page.goto('/alerts');
    expect(await page.textContent('#alerts')).toContain('repository of alerty grew 80%');
    await page.selectOption('#f-alert-kind', 'check_failed');
    await expect.poll(() => page.textContent('#alerts')).toContain('No open alerts');
    await page.click('a:has-text("Resolved")');
    const row = page.locator('#alerts tbody tr', { hasText: 'check_failed' });
    await row.waitFor();
    expect(await row.textContent()).toContain('critical');
    expect(await row.textContent()).toContain('alerty');
    expect(await row.textContent()).toContain('resolved');
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
