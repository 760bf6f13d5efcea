import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { databaseText, enrolledAgent, eventually, startHarness } from './helpers/harness.js';
import type { HttpReceiver, SmtpReceiver } from './helpers/receivers.js';
import { startHttpReceiver, startSmtpReceiver } from './helpers/receivers.js';

/*
 * Notification channels against real receivers on loopback: a node:http webhook endpoint (HMAC
 * verified here, independently of the server's code), an ntfy-shaped endpoint (the ntfy binary
 * is not installed on this machine, so path and headers are checked), and a real SMTP server
 * (npm smtp-server) requiring AUTH. Also: retries then failure, Send test with the real SMTP
 * error, and no secret in API answers, audit rows or logs.
 */
const WEBHOOK_SECRET = 'whsec-0123456789-never-shown';
const NTFY_TOKEN = 'tk_ntfy_token_never_shown_42';
const SMTP_PASSWORD = 'smtp-pass-never-shown-77';
const SECRETS = [WEBHOOK_SECRET, NTFY_TOKEN, SMTP_PASSWORD];

describe('notification channels', () => {
  let h: Harness;
  let hostId = '';
  let smtp: SmtpReceiver;
  const receivers: HttpReceiver[] = [];
  const answers: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await h.admin.req(method, path, body);
    answers.push(r.text);
    return r;
  };
  const raise = (kind: string, open: boolean, severity: 'info' | 'warning' | 'critical' = 'critical') =>
    h.server.services.fleet.setAlert(hostId, kind, open, `${kind} test alert for host-n`, severity);
  const receiver = async (status?: (n: number) => number) => {
    const r = await startHttpReceiver(status);
    receivers.push(r);
    return r;
  };
  const emailChannel = (port: number, password: string | undefined, extra: Record<string, unknown> = {}) => ({
    type: 'email', name: 'ops mail', kinds: ['backup_failed'],
    config: { host: '127.0.0.1', port, tls: 'none', username: 'alerts', ...(password !== undefined ? { password } : {}), from: 'rm@example.org', to: ['ops@example.org'] },
    ...extra,
  });

  beforeAll(async () => {
    // The receivers listen on loopback, which channels may reach only with RM_NOTIFY_ALLOW_PRIVATE.
    h = await startHarness({ notifyAllowPrivate: true }, { alerting: { notifier: { baseDelayMs: 20, maxAttempts: 3, timeoutMs: 3000 } } });
    hostId = (await enrolledAgent(h, 'host-n')).hostId;
    smtp = await startSmtpReceiver('alerts', SMTP_PASSWORD);
  });
  afterAll(async () => {
    await h.close();
    await smtp.close();
    for (const r of receivers) await r.close();
  });

  it('webhook: POSTs the alert event as JSON, signed with HMAC-SHA256 of the body; raise then resolve', async () => {
    const rx = await receiver();
    const made = await api('POST', '/api/notification-channels', { type: 'webhook', name: 'hook', kinds: ['backup_failed'], config: { url: `${rx.url}/hook`, secret: WEBHOOK_SECRET } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ type: 'webhook', enabled: true, config: { url: `${rx.url}/hook` }, secrets: { secret: 'set' }, last_delivery: { status: null } });
    await raise('backup_failed', true);
    await raise('repo_growth', true, 'warning'); // not a kind this channel takes
    await raise('backup_failed', false);
    await h.server.services.notifier.idle();
    expect(rx.requests.map((r) => JSON.parse(r.body).event)).toEqual(['alert.raised', 'alert.resolved']);
    for (const r of rx.requests) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/hook');
      expect(r.headers['content-type']).toBe('application/json');
      const expected = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(r.body).digest('hex')}`;
      expect(r.headers['x-rm-signature-256']).toBe(expected);
      expect(r.headers['x-rm-event']).toBe(JSON.parse(r.body).event);
    }
    const first = JSON.parse(rx.requests[0]!.body);
    expect(first.alert).toMatchObject({ kind: 'backup_failed', severity: 'critical', host_id: hostId, host_name: 'host-n', resolved_at: null, message: 'backup_failed test alert for host-n' });
    expect(first.server_url).toBe(h.url);
    expect(JSON.parse(rx.requests[1]!.body).alert.resolved_at).toEqual(expect.any(String));
    const got = await api('GET', `/api/notification-channels`);
    expect(got.body.items.find((c: { id: string }) => c.id === made.body.id).last_delivery).toMatchObject({ status: 'ok', error: null, attempts: 1 });
  });

  it('webhook: a receiver answering 500 is retried with backoff, then the channel is marked failed with the status', async () => {
    const rx = await receiver(() => 500);
    const made = await api('POST', '/api/notification-channels', { type: 'webhook', name: 'broken hook', kinds: ['check_failed'], config: { url: `${rx.url}/x` } });
    const t0 = Date.now();
    await raise('check_failed', true);
    await h.server.services.notifier.idle();
    expect(rx.requests).toHaveLength(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(20 + 40);
    expect(rx.requests[0]!.headers['x-rm-signature-256']).toBeUndefined();
    const ch = (await api('GET', '/api/notification-channels')).body.items.find((c: { id: string }) => c.id === made.body.id);
    expect(ch.last_delivery).toMatchObject({ status: 'failed', attempts: 3, last_success_at: null });
    expect(ch.last_delivery.error).toMatch(/HTTP 500/);
    expect(ch.last_delivery.error).not.toContain('receiver is broken'); // the answer's body is never echoed
    await raise('check_failed', false);
    await h.server.services.notifier.idle();
  });

  it('ntfy: POST <server>/<topic> with Title, Priority, Tags and the bearer token', async () => {
    const rx = await receiver();
    const made = await api('POST', '/api/notification-channels', { type: 'ntfy', name: 'phone', kinds: ['agent_offline'], min_severity: 'warning', config: { server: `${rx.url}/`, topic: 'rm-alerts', token: NTFY_TOKEN } });
    expect(made.status).toBe(201);
    expect(made.body.secrets).toEqual({ token: 'set' });
    await raise('agent_offline', true, 'info'); // below min_severity: not sent
    await raise('agent_offline', false);
    await raise('agent_offline', true, 'warning');
    await h.server.services.notifier.idle();
    expect(rx.requests).toHaveLength(1);
    const r = rx.requests[0]!;
    expect(r.url).toBe('/rm-alerts');
    expect(r.headers.title).toBe('[restic-manager] WARNING agent_offline on host-n');
    expect(r.headers.priority).toBe('4');
    expect(r.headers.tags).toBe('warning,restic-manager,agent_offline');
    expect(r.headers.authorization).toBe(`Bearer ${NTFY_TOKEN}`);
    expect(r.body).toContain('agent_offline test alert for host-n');
    expect(r.body).toContain(`${h.url}/alerts`);
    await raise('agent_offline', false);
    await h.server.services.notifier.idle();
  });

  it('email: Send test and a raised alert arrive at a real SMTP server with the right subject and body', async () => {
    const made = await api('POST', '/api/notification-channels', emailChannel(smtp.port, SMTP_PASSWORD));
    expect(made.status).toBe(201);
    expect(made.body.secrets).toEqual({ password: 'set' });
    expect(made.body.config).toEqual({ host: '127.0.0.1', port: smtp.port, tls: 'none', username: 'alerts', from: 'rm@example.org', to: ['ops@example.org'] });
    const test = await api('POST', `/api/notification-channels/${made.body.id}/test`);
    expect(test.status, test.text).toBe(200);
    expect(test.body).toMatchObject({ ok: true, channel_id: made.body.id });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.subject).toBe('[restic-manager] test notification');
    expect(smtp.mails[0]!.to).toEqual(['ops@example.org']);

    await raise('backup_failed', true);
    await h.server.services.notifier.idle();
    const mail = await eventually(async () => smtp.mails[1]);
    expect(mail.subject).toBe('[restic-manager] CRITICAL backup_failed on host-n');
    expect(mail.from).toBe('rm@example.org');
    expect(mail.text).toContain('backup_failed test alert for host-n');
    expect(mail.text).toContain('Host: host-n');
    expect(mail.text).toContain(`${h.url}/alerts`);
    await raise('backup_failed', false);
    await h.server.services.notifier.idle();
    expect(smtp.mails[2]!.subject).toBe('[restic-manager] RESOLVED backup_failed on host-n');
    await api('DELETE', `/api/notification-channels/${made.body.id}`);
  });

  it('email: a wrong SMTP password fails Send test with the server’s auth error, and no password in it', async () => {
    const made = await api('POST', '/api/notification-channels', emailChannel(smtp.port, 'the-wrong-password-123'));
    const test = await api('POST', `/api/notification-channels/${made.body.id}/test`);
    expect(test.status).toBe(502);
    expect(test.body.error.code).toBe('delivery_failed');
    expect(test.body.error.message).toMatch(/SMTP authentication failed \(EAUTH\).*535/);
    expect(test.text).not.toContain('the-wrong-password-123');
    const ch = (await api('GET', '/api/notification-channels')).body.items.find((c: { id: string }) => c.id === made.body.id);
    expect(ch.last_delivery.status).toBe('failed');
    expect(ch.last_delivery.error).toMatch(/authentication failed/);

    const refused = await api('POST', '/api/notification-channels', emailChannel(1, SMTP_PASSWORD, { name: 'nowhere' }));
    const t2 = await api('POST', `/api/notification-channels/${refused.body.id}/test`);
    expect(t2.status).toBe(502);
    expect(t2.body.error.message).toMatch(/ECONNREFUSED/);
    for (const id of [made.body.id, refused.body.id]) expect((await api('DELETE', `/api/notification-channels/${id}`)).status).toBe(204);
  });

  it('validates per type with field errors, keeps an omitted secret on PUT, clears it with null, refuses a type change', async () => {
    const bad = await api('POST', '/api/notification-channels', emailChannel(70_000, undefined, { config: { host: '', port: 70_000, from: 'nope', to: [] } }));
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields)).toEqual(expect.arrayContaining(['config.host', 'config.port', 'config.from', 'config.to']));
    expect(bad.body.error.fields['config.port']).toBe('a port is 1–65535');
    const unknown = await api('POST', '/api/notification-channels', { type: 'pager', name: 'x', config: {} });
    expect(unknown.status).toBe(400);

    const made = await api('POST', '/api/notification-channels', emailChannel(smtp.port, SMTP_PASSWORD, { name: 'keep' }));
    const kept = await api('PUT', `/api/notification-channels/${made.body.id}`, emailChannel(smtp.port, undefined, { name: 'kept', enabled: false }));
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ name: 'kept', enabled: false, secrets: { password: 'set' } });
    const cleared = await api('PUT', `/api/notification-channels/${made.body.id}`, emailChannel(smtp.port, null as unknown as string, { name: 'kept' }));
    expect(cleared.body.secrets).toEqual({ password: 'not set' });
    const retype = await api('PUT', `/api/notification-channels/${made.body.id}`, { type: 'webhook', name: 'x', config: { url: 'http://127.0.0.1:9/' } });
    expect(retype.status).toBe(400);
    expect(retype.body.error.fields).toHaveProperty('type');
    const audit = await api('GET', `/api/audit?target_kind=notification_channel&target_id=${made.body.id}`);
    const changes = audit.body.items.map((a: { action: string; payload: { changed_secrets?: string[] } }) => [a.action, a.payload.changed_secrets]);
    expect(changes).toEqual(expect.arrayContaining([['notification_channel.create', ['password']], ['notification_channel.update', []]]));
    expect(changes.filter((c: unknown[]) => JSON.stringify(c[1]) === '["password"]')).toHaveLength(2); // create and the clearing PUT
    expect((await api('DELETE', '/api/notification-channels/nope')).status).toBe(404); // (GET of one channel is no route: 405)
  });

  it('alert thresholds: defaults, partial admin update with a field error on bad input, audited old -> new', async () => {
    const d = await api('GET', '/api/alert-settings');
    expect(d.body).toEqual({ agent_offline_minutes: 15, backup_overdue_hours: 2, repo_growth_percent: 50, restore_unproven_days: 7, updated_at: null });
    const bad = await api('PUT', '/api/alert-settings', { agent_offline_minutes: 0, repo_growth_percent: 1.5 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(['agent_offline_minutes', 'repo_growth_percent']);
    const ok = await api('PUT', '/api/alert-settings', { agent_offline_minutes: 5 });
    expect(ok.body).toMatchObject({ agent_offline_minutes: 5, backup_overdue_hours: 2, repo_growth_percent: 50, updated_at: expect.any(String) });
    const audit = await api('GET', '/api/audit?action=alert_settings.update');
    expect(audit.body.items[0].payload).toEqual({ from: { agent_offline_minutes: 15, backup_overdue_hours: 2, repo_growth_percent: 50, restore_unproven_days: 7 }, to: { agent_offline_minutes: 5, backup_overdue_hours: 2, repo_growth_percent: 50, restore_unproven_days: 7 } });
  });

  it('GET /api/alerts filters by open/resolved, kind and host; /metrics counts the open ones', async () => {
    await raise('repo_growth', false);
    await raise('repo_growth', true, 'warning');
    const open = await api('GET', `/api/alerts?open=true&kind=repo_growth&host_id=${hostId}`);
    expect(open.body.items.map((a: { kind: string; resolved_at: string | null }) => [a.kind, a.resolved_at])).toEqual([['repo_growth', null]]);
    const resolved = await api('GET', '/api/alerts?open=false&kind=backup_failed');
    expect(resolved.body.total).toBeGreaterThanOrEqual(2);
    expect(resolved.body.items.every((a: { kind: string; resolved_at: string | null }) => a.kind === 'backup_failed' && a.resolved_at)).toBe(true);
    expect((await api('GET', '/api/alerts?kind=nonsense')).status).toBe(400);
    const total = (await api('GET', '/api/alerts?open=true')).body.total as number;
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^restic_manager_alerts_active ${total}$`, 'm'));
    expect(total).toBeGreaterThan(0);
  });

  it('a channel that never answers delays nobody: the alert is raised at once, the API keeps answering, the lane times out and retries', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((sock) => sockets.push(sock)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as AddressInfo;
    const made = await api('POST', '/api/notification-channels', { type: 'webhook', name: 'black hole', kinds: ['agent_offline'], config: { url: `http://127.0.0.1:${port}/` } });
    // Close the black hole whatever happens, so a failure here cannot hang the next test's idle().
    const closeHole = (): void => {
      for (const sock of sockets) sock.destroy();
      silent.close(); // later attempts are refused and the lane gives up
    };
    try {
      const t0 = Date.now();
      await raise('agent_offline', true);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect((await api('GET', '/api/alerts?open=true&kind=agent_offline')).body.total).toBe(1);
      // The attempt times out after 3 s; on two busy cores the lane may need several more to report.
      const ch = await eventually(async () => {
        const c = (await api('GET', '/api/notification-channels')).body.items.find((x: { id: string }) => x.id === made.body.id);
        return c.last_delivery.status === 'retrying' ? c : null;
      }, 30_000);
      expect(ch.last_delivery.error).toMatch(/timed out/);
    } finally {
      closeHole();
    }
    await h.server.services.notifier.idle();
    const end = (await api('GET', '/api/notification-channels')).body.items.find((x: { id: string }) => x.id === made.body.id);
    expect(end.last_delivery).toMatchObject({ status: 'failed', attempts: 3 });
    await api('DELETE', `/api/notification-channels/${made.body.id}`);
    await raise('agent_offline', false);
    await h.server.services.notifier.idle();
  });

  it('never shows a secret: API answers, audit rows and server logs hold none of them', async () => {
    const audit = await api('GET', '/api/audit?limit=500');
    const openapi = await api('GET', '/api/openapi.json');
    expect(openapi.body.paths['/api/notification-channels/{id}/test'].post['x-required-role']).toBe('admin');
    await h.server.services.notifier.idle();
    const db = await databaseText(h);
    const haystacks = { answers: answers.join('\n'), audit: audit.text, logs: h.logs(), database: db };
    for (const [where, text] of Object.entries(haystacks)) for (const s of SECRETS) expect(text.includes(s), `${s} in ${where}`).toBe(false);
    expect(audit.text).toContain('notification_channel.create');
  });
});
