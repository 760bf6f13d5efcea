import { expect, it } from 'vitest';
import type { HttpReceiver } from '../packages/server/test/helpers/receivers.js';
import { startHttpReceiver } from '../packages/server/test/helpers/receivers.js';
import { describeInChromium, useUiSuite } from './browser-fixture.js';

/*
 * Settings → Notification channels in real Chromium for a chat/push type (issue 21): choosing
 * Gotify shows its fields (server, write-only application token, template); a malformed
 * template is shown next to its field with its position; saved, Send test shows the success
 * toast and the loopback receiver got `POST /message` with the token in X-Gotify-Key. The
 * server runs with RM_NOTIFY_ALLOW_PRIVATE because the receiver is on loopback.
 */
const TOKEN = 'ui-gotify-app-token-never-shown';

describeInChromium('web UI in Chromium: a Gotify channel', { timeout: 90_000 }, () => {
  let rx: HttpReceiver;
  const fx = useUiSuite({
    server: async (f) => {
      rx = await startHttpReceiver();
      f.defer('close the receiver', () => rx.close());
      return { notifyAllowPrivate: true };
    },
  });

  it('shows the Gotify fields, refuses a bad template at its position, saves, and Send test reaches the receiver', async () => {
    const page = fx.admin.page;
    await page.goto('/settings');
    await page.selectOption('#f-type', 'gotify');
    await page.locator('[name="config.app_token"]').waitFor();
    expect(await page.getAttribute('[name="config.app_token"]', 'type')).toBe('password');
    await page.fill('#f-name', 'Phone');
    await page.fill('[name="config.server"]', rx.url);
    await page.fill('[name="config.app_token"]', TOKEN);
    await page.fill('[name="config.template"]', '{{state}} {{kind}} on {{hostname}}');
    await page.click('#channel-form button[type=submit]');
    await expect.poll(() => page.textContent('[data-field-error="config.template"]')).toMatch(/unknown variable “hostname”.* at line 1, column 23/);

    await page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())");
    await page.fill('[name="config.app_token"]', TOKEN);
    await page.fill('[name="config.template"]', '{{state}} {{kind}} on {{host}}');
    await page.click('#channel-form button[type=submit]');
    const row = page.locator('#channels tbody tr', { hasText: 'Phone' });
    await row.waitFor();
    expect(await page.textContent('#channels')).not.toContain(TOKEN);

    await row.locator('button:has-text("Send test")').click();
    await page.locator('.toast[data-kind="ok"]', { hasText: 'Gotify accepted the message' }).waitFor();
    expect(rx.requests).toHaveLength(1);
    expect(rx.requests[0]).toMatchObject({ method: 'POST', url: '/message' });
    expect(rx.requests[0]!.headers['x-gotify-key']).toBe(TOKEN);
    expect(JSON.parse(rx.requests[0]!.body)).toMatchObject({ title: '[restic-manager] test notification', message: 'TEST test on fleet' });
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
