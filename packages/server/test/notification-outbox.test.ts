import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, eventually, startHarness } from './helpers/harness.js';
import type { HttpReceiver } from './helpers/receivers.js';
import { startHttpReceiver } from './helpers/receivers.js';

/*
 * The durable notification outbox (issues 17/21, migration 0028): an event waiting for a channel
 * survives a server restart and is delivered once by the next process; after the last attempt it
 * is a dead letter, listed, retried or discarded by an admin (audited). Real webhook receiver.
 */
describe('notification outbox', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-outbox-'));
  let rx: HttpReceiver;
  let up = false;
  const ok: number[] = [];
  const fast = { alerting: { notifier: { baseDelayMs: 30, maxDelayMs: 60, maxAttempts: 1000, timeoutMs: 2000, pollMs: 100 } } };

  beforeAll(async () => {
    rx = await startHttpReceiver((n) => {
      if (!up) return 503;
      ok.push(n);
      return 200;
    });
  });
  afterAll(async () => {
    await rx?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('an event still waiting when the server stops is delivered once by the next start', async () => {
    // A retries slowly, so that when it stops no attempt is in flight (one answered after the
    // receiver comes back would be a second delivery: the outbox delivers at least once).
    const a: Harness = await startHarness({ notifyAllowPrivate: true, dataDir }, { alerting: { notifier: { ...fast.alerting.notifier, baseDelayMs: 1500, maxDelayMs: 1500 } } });
    let channelId = '';
    try {
      const { hostId } = await enrolledAgent(a, 'outbox-host');
      const made = await a.admin.req('POST', '/api/notification-channels', { type: 'webhook', name: 'later', kinds: ['backup_failed'], config: { url: `${rx.url}/hook` } });
      expect(made.status, made.text).toBe(201);
      channelId = made.body.id as string;
      await a.server.services.fleet.setAlert(hostId, 'backup_failed', true, 'backup_failed while the receiver is down', 'critical');
      const ch = await eventually(async () => {
        const c = (await a.admin.req('GET', '/api/notification-channels')).body.items.find((x: { id: string }) => x.id === channelId);
        return c.last_delivery.status === 'retrying' ? c : null;
      }, 20_000);
      expect(ch.outbox).toEqual({ waiting: 1, dead: 0 });
      const waiting = await a.admin.req('GET', '/api/notification-outbox?status=pending');
      expect(waiting.body.items).toEqual([expect.objectContaining({ channel_id: channelId, channel_name: 'later', status: 'pending', event: 'alert.raised', alert_kind: 'backup_failed', severity: 'critical', host_name: 'outbox-host', last_error: expect.stringMatching(/HTTP 503/) })]);
    } finally {
      await a.close();
    }
    const failedWhileDown = rx.requests.length;
    up = true;
    const b = await startHarness({ notifyAllowPrivate: true, dataDir }, fast);
    try {
      await eventually(async () => (ok.length === 1 ? true : null), 20_000);
      await b.server.services.notifier.idle();
      expect(ok).toEqual([failedWhileDown + 1]);
      const body = JSON.parse(rx.requests.at(-1)!.body);
      expect(body).toMatchObject({ event: 'alert.raised', alert: { kind: 'backup_failed', message: 'backup_failed while the receiver is down' } });
      const c = (await b.admin.req('GET', '/api/notification-channels')).body.items.find((x: { id: string }) => x.id === channelId);
      expect(c.outbox).toEqual({ waiting: 0, dead: 0 });
      expect(c.last_delivery.status).toBe('ok');
    } finally {
      await b.close();
    }
  }, 60_000);

  it('after the last attempt: a dead letter, listed with its error; an admin retries or discards it (audited)', async () => {
    const h = await startHarness({ notifyAllowPrivate: true }, { mountWeb: undefined, alerting: { notifier: { baseDelayMs: 10, maxAttempts: 2, timeoutMs: 2000, pollMs: 100 } } });
    const bad = await startHttpReceiver((n) => (n <= 2 ? 500 : 200));
    try {
      const { hostId } = await enrolledAgent(h, 'dead-host');
      const made = await h.admin.req('POST', '/api/notification-channels', { type: 'webhook', name: 'flaky', kinds: ['check_failed'], config: { url: `${bad.url}/x` } });
      await h.server.services.fleet.setAlert(hostId, 'check_failed', true, 'check_failed for the dead letter', 'critical');
      await h.server.services.notifier.idle();
      expect(bad.requests).toHaveLength(2);
      const dead = await h.admin.req('GET', '/api/notification-outbox');
      expect(dead.body.items).toEqual([expect.objectContaining({ channel_id: made.body.id, status: 'dead', attempts: 2, last_error: expect.stringMatching(/HTTP 500/), alert_kind: 'check_failed' })]);
      const seq = dead.body.items[0].seq as number;
      expect((await h.admin.req('GET', '/api/notification-channels')).body.items[0]).toMatchObject({ outbox: { waiting: 0, dead: 1 }, last_delivery: { status: 'failed' } });
      // Settings shows it with "Send again" and "Discard".
      const page = await h.admin.req('GET', '/settings');
      expect(page.text).toContain('Dead letters');
      expect(page.text).toContain(`hx-post="/settings/outbox/${seq}/retry"`);
      expect(page.text).toContain('1 dead letter(s)');

      expect((await h.admin.req('POST', '/api/notification-outbox/abc/retry')).status).toBe(400);
      expect((await h.admin.req('POST', `/api/notification-outbox/${seq + 1000}/retry`)).status).toBe(404);
      expect((await h.admin.req('POST', `/api/notification-outbox/${seq}/retry`)).status).toBeLessThan(300);
      await eventually(async () => (bad.requests.length === 3 ? true : null), 10_000);
      await h.server.services.notifier.idle();
      expect((await h.admin.req('GET', '/api/notification-outbox')).body.items).toEqual([]);

      // Another dead letter, discarded.
      const worse = await startHttpReceiver(() => 500);
      try {
        const ch2 = await h.admin.req('POST', '/api/notification-channels', { type: 'webhook', name: 'always broken', kinds: ['check_failed'], config: { url: `${worse.url}/y` } });
        await h.server.services.fleet.setAlert(hostId, 'check_failed', false, 'resolved', 'critical');
        await h.server.services.notifier.idle();
        const items = (await h.admin.req('GET', '/api/notification-outbox')).body.items as { seq: number; channel_id: string }[];
        const mine = items.find((i) => i.channel_id === ch2.body.id)!;
        expect((await h.admin.req('DELETE', `/api/notification-outbox/${mine.seq}`)).status).toBeLessThan(300);
        expect(((await h.admin.req('GET', '/api/notification-outbox')).body.items as { seq: number }[]).map((i) => i.seq)).not.toContain(mine.seq);
      } finally {
        await worse.close();
      }
      const audit = await h.admin.req('GET', '/api/audit?limit=50');
      const actions = (audit.body.items as { action: string }[]).map((a) => a.action);
      expect(actions).toContain('notification_outbox.retry');
      expect(actions).toContain('notification_outbox.discard');
    } finally {
      await bad.close();
      await h.close();
    }
  }, 60_000);
});
