import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { Api, databaseText, enrolledAgent, eventually, startHarness } from './helpers/harness.js';
import type { HttpReceiver } from './helpers/receivers.js';
import { startHttpReceiver } from './helpers/receivers.js';

/*
 * Healthchecks-style pings per schedule (issue 21): a job fired by a schedule with a ping URL
 * pings `<url>/start` when the agent reports it started, `<url>` on success and `<url>/fail` on
 * failure, as healthchecks.io documents (with the job id as `rid`), through the durable notification
 * outbox (retried; a dead letter when the URL stays down). The URL is a secret: only
 * admins set it, the API says only whether one is stored, and it appears in no answer, audit
 * row, log line or in the database file in clear.
 */
const CHECK = 'b9f0c1d2-hc-check-secret-5e6f';

describe('schedule pings (dead-man’s switch)', () => {
  let h: Harness;
  let rx: HttpReceiver;
  let agent: FakeAgent;
  let hostId = '';
  const answers: string[] = [];
  const api = async (method: string, p: string, body?: unknown, headers?: Record<string, string>) => {
    const r = await h.admin.req(method, p, body, headers);
    answers.push(r.text);
    return r;
  };
  const run = async (scheduleId: string, status: 'succeeded' | 'failed') => {
    const jid = randomUUID();
    const at = new Date().toISOString();
    agent.send({ type: 'job.started', job_id: jid, seq: 0, kind: 'backup', started_at: at, schedule_id: scheduleId });
    await eventually(async () => ((await api('GET', `/api/jobs/${jid}`)).body?.status === 'running' ? true : null));
    agent.send({ type: 'job.finished', job_id: jid, seq: 1, status, exit_code: status === 'succeeded' ? 0 : 1, stats: null, error: status === 'failed' ? 'repository locked' : null, error_kind: status === 'failed' ? 'lock_failed' : null, finished_at: new Date().toISOString() });
    await eventually(async () => ((await api('GET', `/api/jobs/${jid}`)).body?.status === status ? true : null));
    await h.server.services.pings.idle();
    await h.server.services.notifier.idle();
    return jid;
  };

  beforeAll(async () => {
    h = await startHarness({ notifyAllowPrivate: true }, { mountWeb: undefined, alerting: { notifier: { baseDelayMs: 20, maxAttempts: 3, timeoutMs: 3000 } } });
    rx = await startHttpReceiver((n) => (n === 4 ? 500 : 200));
    const e = await enrolledAgent(h, 'host-p');
    hostId = e.hostId;
    agent = e.agent;
    await agent.connect();
    await agent.next('schedule.set');
  });
  afterAll(async () => {
    await agent.close();
    await h.close();
    await rx.close();
  });

  it('start, then success or fail, as Healthchecks documents; a failed ping is retried through the durable outbox', async () => {
    const made = await api('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/data'], healthcheck_url: `${rx.url}/ping/${CHECK}` });
    expect(made.status, made.text).toBe(201);
    expect(made.body.has_healthcheck_url).toBe(true);
    expect(made.body).not.toHaveProperty('healthcheck_url');

    const ok = await run(made.body.id, 'succeeded');
    expect(rx.requests.map((r) => [r.method, r.url])).toEqual([['POST', `/ping/${CHECK}/start?rid=${ok}`], ['POST', `/ping/${CHECK}?rid=${ok}`]]);
    expect(rx.requests[0]!.body).toBe(`restic-manager: backup on host-p started (job ${ok})`);
    expect(rx.requests[1]!.headers['content-type']).toBe('text/plain; charset=utf-8');

    const bad = await run(made.body.id, 'failed');
    // The 4th request (the fail ping's first attempt) is answered 500: it is sent again.
    expect(rx.requests.slice(2).map((r) => r.url)).toEqual([`/ping/${CHECK}/start?rid=${bad}`, `/ping/${CHECK}/fail?rid=${bad}`, `/ping/${CHECK}/fail?rid=${bad}`]);
    expect(rx.requests[3]!.body).toBe(`restic-manager: backup on host-p failed (lock_failed) (job ${bad})`);
  });

  it('a ping URL that stays down ends as a dead letter in the outbox, listed with its schedule and sent again on request', async () => {
    const down = await startHttpReceiver((n) => (n <= 3 ? 503 : 200));
    try {
      const made = await api('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 8 * * *', paths: ['/d'], healthcheck_url: `${down.url}/ping/${CHECK}` });
      const jid = randomUUID();
      agent.send({ type: 'job.started', job_id: jid, seq: 0, kind: 'backup', started_at: new Date().toISOString(), schedule_id: made.body.id });
      await eventually(async () => (down.requests.length >= 3 ? true : null));
      await h.server.services.notifier.idle();
      const dead = (await api('GET', '/api/notification-outbox?status=dead')).body.items.filter((i: { channel_id: string }) => i.channel_id === made.body.id);
      expect(dead).toEqual([expect.objectContaining({ event: 'ping.start', alert_kind: 'schedule_ping', channel_name: 'ping of backup schedule', host_name: 'host-p', attempts: 3, last_error: 'the ping URL answered HTTP 503' })]);
      expect((await api('POST', `/api/notification-outbox/${dead[0].seq}/retry`)).status).toBe(204);
      await eventually(async () => (down.requests.length === 4 ? true : null));
      await h.server.services.notifier.idle();
      expect(down.requests[3]!.url).toBe(`/ping/${CHECK}/start?rid=${jid}`);
      expect((await api('GET', '/api/notification-outbox?status=dead')).body.items.filter((i: { channel_id: string }) => i.channel_id === made.body.id)).toEqual([]);
      agent.send({ type: 'job.finished', job_id: jid, seq: 1, status: 'succeeded', exit_code: 0, stats: null, error: null, error_kind: null, finished_at: new Date().toISOString() });
      await eventually(async () => (down.requests.length === 5 ? true : null));
      await api('DELETE', `/api/schedules/${made.body.id}`);
    } finally {
      await down.close();
    }
  });

  it('a schedule without a ping URL pings nothing; the URL is kept on edit, removed with null', async () => {
    const before = rx.requests.length;
    const plain = await api('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 4 * * *', paths: ['/srv'] });
    expect(plain.body.has_healthcheck_url).toBe(false);
    await run(plain.body.id, 'succeeded');
    expect(rx.requests).toHaveLength(before);

    const withUrl = await api('PUT', `/api/schedules/${plain.body.id}`, { kind: 'backup', cron_expr: '0 4 * * *', paths: ['/srv'], healthcheck_url: `${rx.url}/ping/${CHECK}` });
    expect(withUrl.body.has_healthcheck_url).toBe(true);
    const kept = await api('PUT', `/api/schedules/${plain.body.id}`, { kind: 'backup', cron_expr: '0 5 * * *', paths: ['/srv'] });
    expect(kept.body.has_healthcheck_url).toBe(true);
    const cleared = await api('PUT', `/api/schedules/${plain.body.id}`, { kind: 'backup', cron_expr: '0 5 * * *', paths: ['/srv'], healthcheck_url: null });
    expect(cleared.body.has_healthcheck_url).toBe(false);
  });

  it('only admins set it; a metadata address is refused naming the field', async () => {
    expect((await api('POST', '/api/users', { username: 'oscar', password: 'oscar-password-123', role: 'operator' })).status).toBe(201);
    const op = new Api(h.url);
    await op.login('oscar', 'oscar-password-123');
    const refused = await op.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/x'], healthcheck_url: `${rx.url}/ping/x` });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/only admins may set or remove a schedule’s ping URL/);
    const fine = await op.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/x'] });
    expect(fine.status).toBe(201);
    const meta = await api('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/x'], healthcheck_url: 'http://169.254.169.254/ping' });
    expect(meta.status).toBe(400);
    expect(meta.body.error.fields.healthcheck_url).toMatch(/cloud metadata address/);
  });

  it('the schedule editor: admins see the ping fieldset, never the URL; empty keeps it, the checkbox removes it', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };
    const fields = (extra: Record<string, string>) => new URLSearchParams({ kind: 'backup', cron_expr: '0 6 * * *', paths: '/web', enabled: 'on', ...extra }).toString();
    const made = await api('POST', `/hosts/${hostId}/schedules`, fields({ healthcheck_url: `${rx.url}/ping/${CHECK}` }), form);
    expect(made.status, made.text).toBeLessThan(400);
    const sched = (await api('GET', `/api/hosts/${hostId}/schedules`)).body.items.find((x: { paths: string[] }) => x.paths[0] === '/web');
    expect(sched.has_healthcheck_url).toBe(true);
    const page = await api('GET', `/hosts/${hostId}/schedules?edit=${sched.id}`);
    expect(page.text).toContain('id="ping-fieldset"');
    expect(page.text).toContain('name="clear_healthcheck_url"');
    expect(page.text).not.toContain(CHECK);
    await api('PUT', `/schedules/${sched.id}`, fields({ healthcheck_url: '' }), form);
    expect((await api('GET', `/api/hosts/${hostId}/schedules`)).body.items.find((x: { id: string }) => x.id === sched.id).has_healthcheck_url).toBe(true);
    await api('PUT', `/schedules/${sched.id}`, fields({ clear_healthcheck_url: 'on' }), form);
    expect((await api('GET', `/api/hosts/${hostId}/schedules`)).body.items.find((x: { id: string }) => x.id === sched.id).has_healthcheck_url).toBe(false);
  });

  it('Send test pings <url>/log once (the check’s state unchanged), reports a failure with its status, admins only', async () => {
    const made = await api('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 7 * * *', paths: ['/t'], healthcheck_url: `${rx.url}/ping/${CHECK}` });
    const before = rx.requests.length;
    const ok = await api('POST', `/api/schedules/${made.body.id}/ping-test`);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ ok: true, schedule_id: made.body.id, detail: 'the ping URL answered HTTP 200' });
    expect(rx.requests.slice(before).map((r) => [r.method, r.url])).toEqual([['POST', `/ping/${CHECK}/log`]]);
    const web = await api('POST', `/schedules/${made.body.id}/ping-test`, undefined, { 'hx-request': 'true' });
    expect(web.status).toBe(204);
    expect(web.headers.get('hx-trigger')).toContain('Test ping sent: the ping URL answered HTTP 200');

    const down = await startHttpReceiver(() => 503);
    try {
      const bad = await api('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 7 * * *', paths: ['/t'], healthcheck_url: `${down.url}/ping/${CHECK}` });
      const failed = await api('POST', `/api/schedules/${bad.body.id}/ping-test`);
      expect(failed.status).toBe(502);
      expect(failed.body.error).toMatchObject({ code: 'delivery_failed', message: 'test ping failed: the ping URL answered HTTP 503' });
      expect(down.requests).toHaveLength(1); // no retries for a test
    } finally {
      await down.close();
    }
    const none = await api('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 7 * * *', paths: ['/t'] });
    expect((await api('POST', `/api/schedules/${none.body.id}/ping-test`)).body.error.fields).toEqual({ healthcheck_url: 'not set' });
    const op = new Api(h.url);
    await op.login('oscar', 'oscar-password-123');
    expect((await op.req('POST', `/api/schedules/${made.body.id}/ping-test`)).status).toBe(403);
  });

  it('the ping URL is in no answer, audit row, log line or the database file; the audit says it was set', async () => {
    expect((await api('GET', `/api/hosts/${hostId}/schedules`)).body.items.filter((s: { has_healthcheck_url: boolean }) => s.has_healthcheck_url)).toHaveLength(3); // the first test's and Send test's two (the dead-letter test deleted its own)
    const audit = await api('GET', '/api/audit?limit=500');
    const db = await databaseText(h);
    for (const [where, text] of Object.entries({ answers: answers.join('\n'), audit: audit.text, logs: h.logs(), database: db })) expect(text.includes(CHECK), `ping URL in ${where}`).toBe(false);
    expect(audit.text).toContain('"healthcheck_url_set":true');
    expect(audit.text).toContain('schedule.ping_test');
  });
});
