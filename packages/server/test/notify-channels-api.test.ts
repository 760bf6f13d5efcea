import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { databaseText, enrolledAgent, startHarness } from './helpers/harness.js';
import type { HttpReceiver } from './helpers/receivers.js';
import { startHttpReceiver } from './helpers/receivers.js';

/*
 * The chat and push channels (issue 21) through the REST API and the settings form, against
 * loopback receivers: add, Send test, delivery of a raised alert through the durable outbox
 * (with a retry), templates refused with their position, required and moved credentials, the
 * SSRF guard on a base URL, and no credential in any answer, audit row, log line or in the
 * database file in clear.
 */
const SECRETS = {
  slack: 'T0API/B0API/slackHookPathSecret',
  discord: 'discordHookTokenSecret_31',
  telegram: '777000:TelegramBotTokenSecret_x',
  gotify: 'GotifyAppTokenSecret.42',
  pushoverApp: 'pushoverAppTokenSecret7',
  pushoverUser: 'pushoverUserKeySecret8',
  matrix: 'syt_MatrixAccessTokenSecret_9',
};

describe('chat and push channels through the API', () => {
  let h: Harness;
  let hostId = '';
  const receivers: HttpReceiver[] = [];
  const answers: string[] = [];
  const api = async (method: string, p: string, body?: unknown, headers?: Record<string, string>) => {
    const r = await h.admin.req(method, p, body, headers);
    answers.push(r.text);
    return r;
  };
  const receiver = async (status?: (n: number) => number) => {
    const r = await startHttpReceiver(status);
    receivers.push(r);
    return r;
  };
  const channel = async (id: string) => (await api('GET', '/api/notification-channels')).body.items.find((c: { id: string }) => c.id === id);

  beforeAll(async () => {
    h = await startHarness({ notifyAllowPrivate: true }, { mountWeb: undefined, alerting: { notifier: { baseDelayMs: 20, maxAttempts: 3, timeoutMs: 3000 } } });
    hostId = (await enrolledAgent(h, 'host-c')).hostId;
  });
  afterAll(async () => {
    await h.close();
    for (const r of receivers) await r.close();
  });

  it('adds every new type; secrets show only as set; Send test reaches the receiver as the service documents', async () => {
    const rx = await receiver();
    const inputs = [
      { type: 'slack', config: { webhook_url: `${rx.url}/services/${SECRETS.slack}` }, path: `/services/${SECRETS.slack}`, secrets: { webhook_url: 'set' }, plain: {} },
      { type: 'discord', config: { webhook_url: `${rx.url}/api/webhooks/42/${SECRETS.discord}` }, path: `/api/webhooks/42/${SECRETS.discord}`, secrets: { webhook_url: 'set' }, plain: {} },
      { type: 'telegram', config: { api_url: rx.url, chat_id: '-100123', bot_token: SECRETS.telegram }, path: `/bot${SECRETS.telegram}/sendMessage`, secrets: { bot_token: 'set' }, plain: { api_url: rx.url, chat_id: '-100123' } },
      { type: 'gotify', config: { server: rx.url, app_token: SECRETS.gotify }, path: '/message', secrets: { app_token: 'set' }, plain: { server: rx.url } },
      { type: 'pushover', config: { api_url: rx.url, app_token: SECRETS.pushoverApp, user_key: SECRETS.pushoverUser }, path: '/1/messages.json', secrets: { app_token: 'set', user_key: 'set' }, plain: { api_url: rx.url, device: null } },
      { type: 'matrix', config: { homeserver: rx.url, room_id: '!ops:example.org', access_token: SECRETS.matrix }, path: /^\/_matrix\/client\/v3\/rooms\/!ops%3Aexample\.org\/send\/m\.room\.message\/rm-[0-9a-f]{32}$/, secrets: { access_token: 'set' }, plain: { homeserver: rx.url, room_id: '!ops:example.org' } },
    ];
    for (const i of inputs) {
      const made = await api('POST', '/api/notification-channels', { type: i.type, name: `${i.type} ops`, kinds: ['backup_failed'], config: i.config });
      expect(made.status, made.text).toBe(201);
      expect(made.body.secrets).toEqual(i.secrets);
      expect(made.body.config).toEqual(i.plain);
      const before = rx.requests.length;
      const test = await api('POST', `/api/notification-channels/${made.body.id}/test`);
      expect(test.status, test.text).toBe(200);
      expect(test.body.detail).toMatch(/accepted the message \(HTTP 200\)/);
      expect(rx.requests).toHaveLength(before + 1);
      const r = rx.requests[before]!;
      expect(r.method).toBe(i.type === 'matrix' ? 'PUT' : 'POST');
      if (typeof i.path === 'string') expect(r.url).toBe(i.path);
      else expect(r.url).toMatch(i.path);
      expect(decodeURIComponent(r.body.replace(/\+/g, ' '))).toContain('test notification');
      expect((await channel(made.body.id)).last_delivery).toMatchObject({ status: 'ok', attempts: 1 });
      expect((await api('DELETE', `/api/notification-channels/${made.body.id}`)).status).toBe(204);
    }
  });

  it('a raised alert goes through the durable outbox: a 500 is retried, the homeserver sees the same transaction id, then delivered', async () => {
    const rx = await receiver((n) => (n === 1 ? 500 : 200));
    const made = await api('POST', '/api/notification-channels', { type: 'matrix', name: 'matrix retry', kinds: ['check_failed'], config: { homeserver: rx.url, room_id: '!r:example.org', access_token: SECRETS.matrix, template: '{{state}} {{kind}} on {{host}}: {{message}}' } });
    expect(made.status, made.text).toBe(201);
    await h.server.services.fleet.setAlert(hostId, 'check_failed', true, 'check failed on host-c', 'critical');
    await h.server.services.notifier.idle();
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests[0]!.url).toBe(rx.requests[1]!.url);
    expect(JSON.parse(rx.requests[1]!.body)).toEqual({ msgtype: 'm.text', body: 'RAISED check_failed on host-c: check failed on host-c' });
    expect((await channel(made.body.id)).last_delivery).toMatchObject({ status: 'ok', attempts: 2, error: null });
    await api('DELETE', `/api/notification-channels/${made.body.id}`);
    await h.server.services.fleet.setAlert(hostId, 'check_failed', false, 'resolved', 'critical');
    await h.server.services.notifier.idle();
  });

  it('a malformed template is refused when saved, naming config.template and the position', async () => {
    const bad = await api('POST', '/api/notification-channels', { type: 'gotify', name: 'g', config: { server: 'https://gotify.example.org', app_token: 'x1234', template: 'ok\nhost {{ hostname }}' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields['config.template']).toMatch(/^unknown variable “hostname” \(known: .*\) at line 2, column 6$/);
    const unclosed = await api('POST', '/api/notification-channels', { type: 'ntfy', name: 'n', config: { topic: 't', template: 'alert {{kind' } });
    expect(unclosed.body.error.fields['config.template']).toBe('“{{” is not closed by “}}” at line 1, column 7');
  });

  it('a required credential is a field error; a changed address needs the credentials entered again', async () => {
    const none = await api('POST', '/api/notification-channels', { type: 'telegram', name: 't', config: { chat_id: '1' } });
    expect(none.status).toBe(400);
    expect(none.body.error.fields).toEqual({ 'config.bot_token': 'required' });
    const rx = await receiver();
    const made = await api('POST', '/api/notification-channels', { type: 'telegram', name: 'tg', config: { api_url: rx.url, chat_id: '1', bot_token: SECRETS.telegram } });
    expect(made.status).toBe(201);
    const same = await api('PUT', `/api/notification-channels/${made.body.id}`, { type: 'telegram', name: 'tg2', config: { api_url: `${rx.url}/`, chat_id: '2' } });
    expect(same.status, same.text).toBe(200); // same address (a trailing slash aside): the stored token is kept
    expect(same.body.secrets).toEqual({ bot_token: 'set' });
    const moved = await api('PUT', `/api/notification-channels/${made.body.id}`, { type: 'telegram', name: 'tg2', config: { api_url: 'http://127.0.0.1:9', chat_id: '2' } });
    expect(moved.status).toBe(400);
    expect(moved.body.error.fields['config.bot_token']).toMatch(/enter it again .*the api_url changed, and a stored credential is never sent to a new address/);
    expect((await channel(made.body.id)).config.api_url).toBe(`${rx.url}/`); // nothing changed
    const reentered = await api('PUT', `/api/notification-channels/${made.body.id}`, { type: 'telegram', name: 'tg2', config: { api_url: 'http://127.0.0.1:9', chat_id: '2', bot_token: SECRETS.telegram } });
    expect(reentered.status).toBe(200);
    const audit = await api('GET', `/api/audit?target_kind=notification_channel&target_id=${made.body.id}`);
    expect(audit.body.items.map((a: { payload: { changed_secrets?: string[] } }) => a.payload.changed_secrets)).toEqual(expect.arrayContaining([['bot_token'], []]));
    await api('DELETE', `/api/notification-channels/${made.body.id}`);
  });

  it('the base URL passes the SSRF guard: a metadata address is refused on save, naming the field', async () => {
    const r = await api('POST', '/api/notification-channels', { type: 'pushover', name: 'p', config: { api_url: 'http://169.254.169.254/', app_token: 'a1234', user_key: 'u1234' } });
    expect(r.status).toBe(400);
    expect(r.body.error.fields['config.api_url']).toMatch(/cloud metadata address/);
    const hook = await api('POST', '/api/notification-channels', { type: 'slack', name: 's', config: { webhook_url: 'http://169.254.169.254/services/x' } });
    expect(hook.body.error.fields['config.webhook_url']).toMatch(/cloud metadata address/);
  });

  it('Send test reports a refused credential with the status, and without the credential', async () => {
    const rx = await receiver(() => 401);
    const made = await api('POST', '/api/notification-channels', { type: 'telegram', name: 'bad token', config: { api_url: rx.url, chat_id: '1', bot_token: SECRETS.telegram } });
    const test = await api('POST', `/api/notification-channels/${made.body.id}/test`);
    expect(test.status).toBe(502);
    expect(test.body.error).toMatchObject({ code: 'delivery_failed', message: 'test notification to “bad token” failed: Telegram answered HTTP 401 (the credentials were refused)' });
    await api('DELETE', `/api/notification-channels/${made.body.id}`);
  });

  it('the settings form shows a new type’s fields, adds it, and its Send test reaches the receiver', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };
    const page = await api('GET', '/settings/channels/form?type=gotify');
    expect(page.status).toBe(200);
    for (const name of ['config.server', 'config.app_token', 'config.template']) expect(page.text).toContain(`name="${name}"`);
    const badTemplate = await api('POST', '/settings/channels', new URLSearchParams({ type: 'gotify', name: 'web gotify', 'config.server': 'https://g.example.org', 'config.app_token': 'tok1234', 'config.template': '{{nope}}' }).toString(), form);
    expect(badTemplate.status).toBe(400);
    expect(badTemplate.body.error.fields['config.template']).toMatch(/unknown variable “nope”.* at line 1, column 1/);
    const rx = await receiver();
    const added = await api('POST', '/settings/channels', new URLSearchParams({ type: 'gotify', name: 'web gotify', 'config.server': rx.url, 'config.app_token': SECRETS.gotify, 'config.template': '' }).toString(), form);
    expect(added.status, added.text).toBe(200);
    expect(added.text).toContain('web gotify');
    const id = (await api('GET', '/api/notification-channels')).body.items.find((c: { name: string }) => c.name === 'web gotify').id as string;
    const test = await api('POST', `/settings/channels/${id}/test`, undefined, { 'hx-request': 'true' });
    expect(test.status).toBe(200);
    expect(decodeURIComponent(test.headers.get('hx-trigger') ?? '')).toContain('Test sent: Gotify accepted the message (HTTP 200)');
    expect(rx.requests[0]!.headers['x-gotify-key']).toBe(SECRETS.gotify);
    const edit = await api('GET', `/settings/channels/form?id=${id}`);
    expect(edit.text).toContain(`value="${rx.url}"`);
    expect(edit.text).toContain('•••••• (set)');
    expect(edit.text).not.toContain(SECRETS.gotify);
    await api('DELETE', `/api/notification-channels/${id}`);
  });

  it('no credential anywhere: API answers, audit rows, logs, the database file', async () => {
    const audit = await api('GET', '/api/audit?limit=500');
    const openapi = await api('GET', '/api/openapi.json');
    expect(JSON.stringify(openapi.body.paths['/api/notification-channels'].post)).toContain('access_token');
    await h.server.services.notifier.idle();
    const db = await databaseText(h);
    const hay = { answers: answers.join('\n'), audit: audit.text, logs: h.logs(), database: db };
    for (const [where, text] of Object.entries(hay)) for (const s of Object.values(SECRETS)) expect(text.includes(s), `${s} in ${where}`).toBe(false);
  });
});
