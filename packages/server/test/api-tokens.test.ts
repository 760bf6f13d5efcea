import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { API_TOKEN_PATTERN } from '@restic-manager/protocol';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { ApiResponse, Harness } from './helpers/harness.js';
import { ADMIN_PASSWORD, Api, enrolledAgent, leaksOf, startHarness } from './helpers/harness.js';

/* Issue 21: API tokens — bearer auth of the REST API, role cap, scope, expiry, revocation, audit. */

const DAY = 86_400_000;

/** A client that sends only `Authorization: Bearer` (no cookie, no CSRF token). */
async function bearer(url: string, token: string, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(`${url}${p}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

describe('API tokens', () => {
  let h: Harness;
  let offset = 0;
  let operator: Api;
  let hostA: { hostId: string; agent: FakeAgent };
  let hostB: { hostId: string; agent: FakeAgent };
  const answers: string[] = [];
  const audit = async (action: string) => ((await h.admin.req('GET', `/api/audit?action=${action}&limit=500`)).body.items as { payload: Record<string, unknown>; target_id: string | null; actor_name: string }[]);
  const jobCount = async () => (await h.admin.req('GET', '/api/jobs?limit=500')).body.total as number;
  const create = async (api: Api, body: Record<string, unknown>, p = '/api/tokens') => {
    const r = await api.req('POST', p, body);
    expect(r.status, r.text).toBe(201);
    return r.body as { token: string; api_token: { id: string; role: string; prefix: string } };
  };

  beforeAll(async () => {
    h = await startHarness({}, { now: () => Date.now() + offset });
    expect((await h.admin.req('POST', '/api/users', { username: 'olga', password: 'olga-password-123', role: 'operator' })).status).toBe(201);
    operator = new Api(h.url);
    expect((await operator.login('olga', 'olga-password-123')).status).toBe(200);
    hostA = await enrolledAgent(h, 'team-a-host');
    hostB = await enrolledAgent(h, 'team-b-host');
    await h.admin.req('PUT', `/api/hosts/${hostA.hostId}/tags`, { tags: ['team-a'] });
    await h.admin.req('PUT', `/api/hosts/${hostB.hostId}/tags`, { tags: ['team-b'] });
    await hostA.agent.connect();
    await hostB.agent.connect();
  });
  afterAll(async () => {
    await hostA.agent.close();
    await hostB.agent.close();
    await h.close();
  });

  it('is shown once, stored as a keyed hash, and works as Authorization: Bearer without a cookie or CSRF token', async () => {
    const { token, api_token } = await create(operator, { name: 'ci deploy', expires_in_days: 30 });
    expect(token).toMatch(API_TOKEN_PATTERN);
    expect(token.startsWith(api_token.prefix)).toBe(true);
    expect(api_token.role).toBe('operator');
    const list = await operator.req('GET', '/api/tokens');
    answers.push(list.text);
    expect(list.body.items.map((t: { name: string }) => t.name)).toEqual(['ci deploy']);
    expect(list.text).not.toContain(token);

    const hosts = await bearer(h.url, token, 'GET', '/api/hosts');
    answers.push(hosts.text);
    expect(hosts.status).toBe(200);
    expect(hosts.body.total).toBe(2);
    const before = await jobCount();
    const run = await bearer(h.url, token, 'POST', `/api/hosts/${hostA.hostId}/jobs`, { kind: 'check', args: {} });
    answers.push(run.text);
    expect(run.status, run.text).toBe(202);
    expect(await jobCount()).toBe(before + 1);
    await hostA.agent.next('command.run');

    // The secret is in no answer after the creating one, no log line and no database byte.
    expect(await leaksOf(h, token, answers)).toEqual([]);
    // The run's own audit row says which token acted.
    const runs = await audit('job.run');
    expect(runs[0]?.payload.via).toEqual({ kind: 'api_token', id: api_token.id, name: 'ci deploy' });
    const mine = (await operator.req('GET', '/api/tokens')).body.items[0];
    expect(mine.last_used_at).not.toBeNull();
    expect(mine.last_used_ip).toBe('127.0.0.1');
  });

  it('audits every write and at most one read a minute per token', async () => {
    const { token, api_token } = await create(operator, { name: 'audited' });
    for (let i = 0; i < 3; i++) expect((await bearer(h.url, token, 'GET', '/api/hosts')).status).toBe(200);
    await bearer(h.url, token, 'PUT', `/api/hosts/${hostA.hostId}/time-zone`, { time_zone: 'Europe/Berlin' });
    await bearer(h.url, token, 'PUT', `/api/hosts/${hostA.hostId}/time-zone`, { time_zone: 'not/a-zone' });
    const uses = (await audit('token.use')).filter((r) => r.target_id === api_token.id).reverse();
    expect(uses.map((u) => `${u.payload.method} ${u.payload.status}`)).toEqual(['GET 200', 'PUT 200', 'PUT 400']);
    expect(uses[0]?.actor_name).toBe('olga');
  });

  it('is never read from a cookie or the query string, and web pages ignore it', async () => {
    const { token } = await create(operator, { name: 'not-a-cookie' });
    expect((await fetch(`${h.url}/api/hosts?access_token=${token}`)).status).toBe(401);
    expect((await fetch(`${h.url}/api/hosts?token=${token}`)).status).toBe(401);
    expect((await fetch(`${h.url}/api/hosts`, { headers: { cookie: `rm_session=${token}` } })).status).toBe(401);
    expect((await fetch(`${h.url}/api/hosts`, { headers: { authorization: `Basic ${token}` } })).status).toBe(401);
    // With a token AND someone else's session cookie, only the token counts (an unknown token is refused).
    const r = await fetch(`${h.url}/api/auth/me`, { headers: { authorization: 'Bearer rmt_' + 'x'.repeat(43), cookie: `rm_session=${h.admin.cookie ?? ''}` } });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('caps the role at the creator\'s and, at each use, at the account\'s current role', async () => {
    const r = await operator.req('POST', '/api/tokens', { name: 'too high', role: 'admin' });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/at most operator/);
    const { token } = await create(operator, { name: 'to demote' });
    const users = (await h.admin.req('GET', '/api/users')).body.items as { id: string; username: string }[];
    const olga = users.find((u) => u.username === 'olga')!;
    expect((await h.admin.req('PUT', `/api/users/${olga.id}/role`, { role: 'viewer' })).status).toBe(200);
    const before = await jobCount();
    const run = await bearer(h.url, token, 'POST', `/api/hosts/${hostA.hostId}/jobs`, { kind: 'check', args: {} });
    expect(run.status).toBe(403);
    expect(run.body.error.message).toMatch(/acts as viewer/);
    expect(await jobCount()).toBe(before);
    expect((await audit('token.denied')).some((a) => a.payload.reason === 'role')).toBe(true);
    expect((await h.admin.req('PUT', `/api/users/${olga.id}/role`, { role: 'operator' })).status).toBe(200);
    expect((await operator.login('olga', 'olga-password-123')).status).toBe(200);
  });

  it('refuses a revoked, an expired and an unknown token with 401, doing nothing and auditing the refusal', async () => {
    const revoked = await create(operator, { name: 'revoked' });
    const del = await operator.req('DELETE', `/api/tokens/${revoked.api_token.id}`);
    expect(del.status).toBe(200);
    expect(del.body.state).toBe('revoked');
    const expiring = await create(operator, { name: 'expiring', expires_in_days: 1 });
    expect((await bearer(h.url, expiring.token, 'GET', '/api/hosts')).status).toBe(200);
    const before = await jobCount();
    offset += DAY + 1000;
    try {
      const a = await bearer(h.url, revoked.token, 'POST', `/api/hosts/${hostA.hostId}/jobs`, { kind: 'check', args: {} });
      expect([a.status, a.body.error.code]).toEqual([401, 'token_invalid']);
      expect(a.body.error.message).toMatch(/revoked/);
      const b = await bearer(h.url, expiring.token, 'POST', `/api/hosts/${hostA.hostId}/jobs`, { kind: 'check', args: {} });
      expect([b.status, b.body.error.code]).toEqual([401, 'token_expired']);
      const c = await bearer(h.url, `rmt_${'A'.repeat(43)}`, 'POST', `/api/hosts/${hostA.hostId}/jobs`, { kind: 'check', args: {} });
      expect([c.status, c.body.error.code]).toEqual([401, 'token_invalid']);
    } finally {
      offset -= DAY + 1000;
      // The day skipped ended the sessions too.
      await h.admin.login('admin', ADMIN_PASSWORD);
      await operator.login('olga', 'olga-password-123');
    }
    expect(await jobCount()).toBe(before);
    const refused = await audit('token.refused');
    expect(refused.filter((r) => r.target_id === revoked.api_token.id).map((r) => r.payload.reason)).toEqual(['revoked']);
    expect(refused.filter((r) => r.target_id === expiring.api_token.id).map((r) => r.payload.reason)).toEqual(['expired']);
    expect(refused.some((r) => r.target_id === null && r.payload.reason === 'unknown')).toBe(true);
    // A flood of the same refusal writes one row a minute, not one per request.
    for (let i = 0; i < 5; i++) await bearer(h.url, revoked.token, 'GET', '/api/hosts');
    expect((await audit('token.refused')).filter((r) => r.target_id === revoked.api_token.id)).toHaveLength(1);
  });

  it('limits a scoped token to hosts carrying its tags: filtered list, 403 elsewhere, audited', async () => {
    const { token, api_token } = await create(operator, { name: 'team a', scope_tags: ['team-a'] });
    const list = await bearer(h.url, token, 'GET', '/api/hosts');
    expect(list.body.items.map((x: { name: string }) => x.name)).toEqual(['team-a-host']);
    expect((await bearer(h.url, token, 'GET', `/api/hosts/${hostA.hostId}`)).status).toBe(200);
    const before = await jobCount();
    const other = await bearer(h.url, token, 'POST', `/api/hosts/${hostB.hostId}/jobs`, { kind: 'check', args: {} });
    expect(other.status).toBe(403);
    expect(other.body.error.message).toMatch(/limited to hosts tagged team-a/);
    expect(await jobCount()).toBe(before);
    expect((await bearer(h.url, token, 'GET', `/api/hosts/${hostB.hostId}/snapshots`)).status).toBe(403);
    expect((await bearer(h.url, token, 'GET', '/api/repos')).status).toBe(403);
    expect((await bearer(h.url, token, 'GET', '/api/fleet/trends')).status).toBe(403);
    // A job of the other team's host is out of scope too.
    const bJob = await h.admin.req('POST', `/api/hosts/${hostB.hostId}/jobs`, { kind: 'check', args: {} });
    await hostB.agent.next('command.run');
    expect((await bearer(h.url, token, 'GET', `/api/jobs/${bJob.body.job.id}`)).status).toBe(403);
    const aRun = await bearer(h.url, token, 'POST', `/api/hosts/${hostA.hostId}/jobs`, { kind: 'check', args: {} });
    expect(aRun.status).toBe(202);
    await hostA.agent.next('command.run');
    expect((await bearer(h.url, token, 'GET', `/api/jobs/${aRun.body.job.id}`)).status).toBe(200);
    // The job list is filtered to the scope (issue 21, scoped roles), not refused.
    const jobs = await bearer(h.url, token, 'GET', '/api/jobs');
    expect(jobs.body.items.map((j: { id: string }) => j.id)).toContain(aRun.body.job.id);
    expect(jobs.body.items.every((j: { host_id: string }) => j.host_id === hostA.hostId)).toBe(true);
    const denied = (await audit('token.denied')).filter((r) => r.target_id === api_token.id);
    expect(denied.length).toBeGreaterThanOrEqual(4);
    expect(denied.every((r) => r.payload.reason === 'scope')).toBe(true);
  });

  it('cannot manage tokens or accounts, or sign out (session-only routes)', async () => {
    const { token } = await create(h.admin, { name: 'admin automation' });
    for (const [m, p, body] of [['GET', '/api/tokens'], ['POST', '/api/tokens', { name: 'child' }], ['POST', '/api/service-accounts', { username: 'x', role: 'viewer' }], ['POST', '/api/auth/logout']] as const) {
      const r = await bearer(h.url, token, m, p, body);
      expect(r.status, `${m} ${p}: ${r.text}`).toBe(403);
      expect(r.body.error.message).toMatch(/API tokens/);
    }
    // Everything else an admin may do, the admin's token may (no CSRF token sent).
    expect((await bearer(h.url, token, 'GET', '/api/audit')).status).toBe(200);
  });

  it('service accounts: created by an admin, never sign in, get tokens only from an admin and within their role', async () => {
    const sa = await h.admin.req('POST', '/api/service-accounts', { username: 'backup-bot', role: 'operator' });
    expect(sa.status, sa.text).toBe(201);
    expect(sa.body.auth_method).toBe('service');
    expect((await new Api(h.url).login('backup-bot', '')).status).toBe(400);
    expect((await new Api(h.url).login('backup-bot', 'anything-at-all-123')).status).toBe(401);
    const tooHigh = await h.admin.req('POST', `/api/users/${sa.body.id}/api-tokens`, { name: 'bot', role: 'admin' });
    expect(tooHigh.status).toBe(403);
    const { token, api_token } = await create(h.admin, { name: 'bot' }, `/api/users/${sa.body.id}/api-tokens`);
    expect(api_token.role).toBe('operator');
    const me = await bearer(h.url, token, 'GET', '/api/auth/me');
    expect(me.body.user.username).toBe('backup-bot');
    const olga = ((await h.admin.req('GET', '/api/users')).body.items as { id: string; username: string }[]).find((u) => u.username === 'olga')!;
    const forPerson = await h.admin.req('POST', `/api/users/${olga.id}/api-tokens`, { name: 'nope' });
    expect(forPerson.status).toBe(403);
    expect(forPerson.body.error.message).toMatch(/not a service account/);
    expect((await operator.req('POST', '/api/service-accounts', { username: 'y', role: 'viewer' })).status).toBe(403);
    const listed = await h.admin.req('GET', `/api/users/${sa.body.id}/api-tokens`);
    expect(listed.body.items.map((t: { name: string }) => t.name)).toEqual(['bot']);
    // An operator cannot see or revoke another account's token.
    expect((await operator.req('DELETE', `/api/tokens/${api_token.id}`)).status).toBe(404);
    expect((await h.admin.req('DELETE', `/api/tokens/${api_token.id}`)).status).toBe(200);
    expect((await bearer(h.url, token, 'GET', '/api/auth/me')).status).toBe(401);
  });

  it('opens the live job stream with a token in scope, refuses one out of scope or revoked', async () => {
    const { token, api_token } = await create(operator, { name: 'stream', scope_tags: ['team-a'] });
    const run = await h.admin.req('POST', `/api/hosts/${hostA.hostId}/jobs`, { kind: 'check', args: {} });
    await hostA.agent.next('command.run');
    const other = await h.admin.req('POST', `/api/hosts/${hostB.hostId}/jobs`, { kind: 'check', args: {} });
    await hostB.agent.next('command.run');
    const open = (jobId: string) => new Promise<{ status: number; frames: string[] }>((resolve) => {
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/api/jobs/${jobId}/stream`, { headers: { authorization: `Bearer ${token}` } });
      const frames: string[] = [];
      ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, frames }));
      ws.on('open', () => {
        hostA.agent.logLine(jobId, 'hello from the stream');
      });
      ws.on('message', (d: Buffer) => {
        frames.push(d.toString());
        ws.close();
        resolve({ status: 101, frames });
      });
    });
    const ok = await open(run.body.job.id);
    expect(ok.status).toBe(101);
    expect(ok.frames[0]).toContain('hello from the stream');
    expect((await open(other.body.job.id)).status).toBe(403);
    await operator.req('DELETE', `/api/tokens/${api_token.id}`);
    expect((await open(run.body.job.id)).status).toBe(401);
  });

  it('is declared in the OpenAPI document: bearer scheme, token routes session-only', async () => {
    const doc = (await h.admin.req('GET', '/api/openapi.json')).body;
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toContainEqual({ bearer: [] });
    expect(doc.paths['/api/tokens'].post.security).toEqual([{ session: [], csrf: [] }]);
    expect(doc.paths['/api/tokens/{id}'].delete).toBeTruthy();
    expect(doc.paths['/api/hosts'].get.security).toBeUndefined();
  });
});
