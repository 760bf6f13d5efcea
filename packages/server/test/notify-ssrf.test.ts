import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedPost } from '../src/services/notify/pinned-post.js';
import { TargetGuard, TargetRefused, classify } from '../src/services/notify/target-guard.js';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, startHarness } from './helpers/harness.js';
import type { HttpReceiver } from './helpers/receivers.js';
import { startHttpReceiver } from './helpers/receivers.js';

/*
 * SSRF through notification channels (issue 13, finding 8). Every request these tests let
 * through goes to a receiver on 127.0.0.1; refused targets are refused before any connection.
 */

describe('notification target guard: address classes', () => {
  it.each([
    ['127.0.0.1', 'loopback'], ['127.8.9.10', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'],
    ['169.254.169.254', 'cloud metadata'], ['fd00:ec2::254', 'cloud metadata'], ['169.254.10.20', 'link-local'], ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['10.1.2.3', 'private'], ['172.20.0.1', 'private'], ['192.168.1.1', 'private'], ['fd12::1', 'private'],
    ['100.64.0.1', 'private'], ['224.0.0.1', 'multicast or reserved'], ['255.255.255.255', 'multicast or reserved'], ['93.184.216.34', null], ['2606:4700::1111', null],
  ] as [string, string | null][])('%s is %s', (ip, cls) => {
    expect(classify(ip)).toBe(cls);
  });

  it('checks every address a name resolves to, and resolves it once', async () => {
    const asked: string[] = [];
    const guard = new TargetGuard(false, async (host) => {
      asked.push(host);
      return [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }];
    });
    await expect(guard.check('https://hooks.test/x', 'config.url')).rejects.toThrow(/config\.url: hooks\.test resolves to 127\.0\.0\.1, a loopback address; .*RM_NOTIFY_ALLOW_PRIVATE=true/);
    expect(asked).toEqual(['hooks.test']);
    await expect(new TargetGuard(true, async () => [{ address: '169.254.169.254', family: 4 }]).check('http://meta.test/', 'config.url')).rejects.toBeInstanceOf(TargetRefused);
  });

  it('connects to the checked address (not a second DNS answer), with the Host header of the name', async () => {
    const rx = await startHttpReceiver();
    try {
      const port = new URL(rx.url).port;
      const guard = new TargetGuard(true, async () => [{ address: '127.0.0.1', family: 4 }]);
      const target = await guard.check(`http://pinned.test:${port}/hook`, 'config.url');
      const status = await pinnedPost(target, { headers: { 'content-type': 'text/plain' }, body: 'hi', signal: AbortSignal.timeout(5000) }, {});
      expect(status).toBe(200);
      expect(rx.requests).toMatchObject([{ method: 'POST', url: '/hook', body: 'hi', headers: { host: `pinned.test:${port}` } }]);
    } finally {
      await rx.close();
    }
  });
});

describe('notification channels refuse loopback, link-local and metadata targets by default', () => {
  let h: Harness;
  let rx: HttpReceiver;
  let port = '';
  beforeAll(async () => {
    h = await startHarness({}, { alerting: { notifier: { baseDelayMs: 10, maxAttempts: 2, timeoutMs: 3000 } } });
    rx = await startHttpReceiver();
    port = new URL(rx.url).port;
  });
  afterAll(async () => {
    await h.close();
    await rx.close();
  });
  const webhook = (url: string) => h.admin.req('POST', '/api/notification-channels', { type: 'webhook', name: 'w', kinds: ['backup_failed'], config: { url } });

  it('refuses a loopback webhook URL on save, naming the field', async () => {
    const r = await webhook(`${rx.url}/hook`);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.fields['config.url']).toMatch(/127\.0\.0\.1 is a loopback address; notifications to loopback and private addresses are refused unless the server runs with RM_NOTIFY_ALLOW_PRIVATE=true/);
    expect(rx.requests).toHaveLength(0);
  });

  it('refuses a loopback ntfy server on save, naming the field', async () => {
    const r = await h.admin.req('POST', '/api/notification-channels', { type: 'ntfy', name: 'n', config: { server: `http://[::1]:${port}`, topic: 't' } });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.fields['config.server']).toMatch(/::1 is a loopback address/);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', /cloud metadata address, which notifications never reach/],
    ['http://[fd00:ec2::254]/', /cloud metadata/],
    ['http://169.254.10.20/', /link-local/],
    ['http://[fe80::1]/', /link-local/],
    ['http://0.0.0.0:1/', /unspecified/],
    ['http://[::ffff:127.0.0.1]:1/', /loopback/],
    ['http://10.1.2.3/', /private address/],
  ])('refuses %s on save', async (url, re) => {
    const r = await webhook(url);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.fields['config.url']).toMatch(re);
  });

  it('refuses a name that resolves to loopback (localhost)', async () => {
    const r = await webhook(`http://localhost:${port}/hook`);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.fields['config.url']).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(rx.requests).toHaveLength(0);
  });

  it('refuses on send too: a channel stored before the guard (pointing at loopback) reaches nothing, by Send test or by an alert', async () => {
    const made = await webhook('http://192.0.2.1/x'); // a public literal (TEST-NET-1): accepted on save, never contacted
    expect(made.status, made.text).toBe(201);
    await h.server.db.updateTable('notification_channels').set({ config: JSON.stringify({ url: `${rx.url}/hook` }) }).where('id', '=', made.body.id).execute();
    const test = await h.admin.req('POST', `/api/notification-channels/${made.body.id}/test`);
    expect(test.status, test.text).toBe(502);
    expect(test.body.error.message).toMatch(/config\.url: 127\.0\.0\.1 is a loopback address/);
    const hostId = (await enrolledAgent(h, 'ssrf-host')).hostId;
    await h.server.services.fleet.setAlert(hostId, 'backup_failed', true, 'backup failed', 'critical');
    await h.server.services.notifier.idle();
    const ch = (await h.admin.req('GET', '/api/notification-channels')).body.items.find((c: { id: string }) => c.id === made.body.id);
    expect(ch.last_delivery).toMatchObject({ status: 'failed', error: expect.stringMatching(/loopback/) });
    expect(rx.requests).toHaveLength(0);
  });
});

describe('with RM_NOTIFY_ALLOW_PRIVATE=true', () => {
  let h: Harness;
  let rx: HttpReceiver;
  beforeAll(async () => {
    h = await startHarness({ notifyAllowPrivate: true });
    rx = await startHttpReceiver(() => 500);
  });
  afterAll(async () => {
    await h.close();
    await rx.close();
  });

  it('allows a loopback name, still refuses metadata, and a failed send names the status without the answer\'s body', async () => {
    const made = await h.admin.req('POST', '/api/notification-channels', { type: 'webhook', name: 'local', config: { url: `http://localhost:${new URL(rx.url).port}/hook` } });
    expect(made.status, made.text).toBe(201);
    const meta = await h.admin.req('POST', '/api/notification-channels', { type: 'webhook', name: 'meta', config: { url: 'http://169.254.169.254/' } });
    expect(meta.status).toBe(400);
    const test = await h.admin.req('POST', `/api/notification-channels/${made.body.id}/test`);
    expect(test.status, test.text).toBe(502);
    expect(rx.requests).toHaveLength(1);
    expect(test.body.error.message).toMatch(/webhook answered HTTP 500$/);
    expect(test.text).not.toContain('receiver is broken');
  });
});
