import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import { scopeTargetOf } from '../src/http/token-guard.js';
import { webScopeTargetOf } from '../src/web/scope.js';
import type { Harness } from './helpers/harness.js';
import { Api, enrolledAgent, startHarness } from './helpers/harness.js';

/*
 * Scoped roles (issue 21): the role matrix (roles.test.ts) again for an operator limited to hosts
 * tagged `team-a`, route by route — every REST route of the route table and every page and form
 * action of the web UI — against a host (job, schedule, alert) inside the scope and one outside;
 * the live job stream; audit search; hostile scope_tags.
 */
const RANK = { viewer: 1, operator: 2, admin: 3 } as const;
const PASSWORD = 'scoped-operator-password-1';
const LIMITED = /limited to hosts tagged team-a/;

interface Fixture {
  hostId: string;
  agent: FakeAgent;
  job: string;
  schedule: string;
  alert: string;
}

describe('scoped roles: an operator limited to team-a, route by route', () => {
  let h: Harness;
  let alice: Api;
  let aliceId = '';
  let inside: Fixture;
  let outside: Fixture;

  const login = async (): Promise<Api> => {
    const api = new Api(h.url);
    expect((await api.login('alice', PASSWORD)).status).toBe(200);
    return api;
  };

  beforeAll(async () => {
    h = await startHarness({ logLevel: 'warn' }, { mountWeb: undefined });
    const u = await h.admin.req('POST', '/api/users', { username: 'alice', password: PASSWORD, role: 'operator', scope_tags: ['team-a'] });
    expect(u.status, u.text).toBe(201);
    expect(u.body.scope_tags).toEqual(['team-a']);
    aliceId = u.body.id as string;
    const mk = async (name: string, tag: string): Promise<Fixture> => {
      const a = await enrolledAgent(h, name);
      await h.admin.req('PUT', `/api/hosts/${a.hostId}/tags`, { tags: [tag] });
      await a.agent.connect();
      const run = await h.admin.req('POST', `/api/hosts/${a.hostId}/jobs`, { kind: 'check', args: {} });
      await a.agent.next('command.run');
      const sched = await h.admin.req('POST', `/api/hosts/${a.hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/srv'] });
      expect(sched.status, sched.text).toBe(201);
      await h.server.services.fleet.setAlert(a.hostId, 'backup_failed', true, `backup failed on ${name}`, 'critical');
      const alert = (await h.admin.req('GET', `/api/alerts?host_id=${a.hostId}`)).body.items[0].id as string;
      return { hostId: a.hostId, agent: a.agent, job: run.body.job.id as string, schedule: sched.body.id as string, alert };
    };
    inside = await mk('inside-host', 'team-a');
    outside = await mk('outside-host', 'team-b');
    alice = await login();
  });
  afterAll(async () => {
    await inside.agent.close();
    await outside.agent.close();
    await h.close();
  });

  /** A concrete path: `:id` filled for the route's kind of object, other params a missing id. */
  const fill = (p: string, f: Fixture | null): string => {
    const id = !f ? 'no-such-id'
      : /^\/(api\/)?(partials\/)?jobs\/:id/.test(p) ? f.job
      : /^\/(api\/)?schedules\/:id/.test(p) ? f.schedule
      : /^\/(api\/)?alerts\/:id/.test(p) ? f.alert
      : f.hostId;
    return p.replace(':id', id).replace(/:[a-z_]+/g, 'no-such-id').replace('${tab}', 'jobs');
  };
  // Probed inside the scope with a missing id, so the fixture survives (deleting, revoking, signing out).
  const destructive = (m: string, p: string) => m === 'delete' || /enrollment-token|credentials|\/token$|\/delete$|logout/.test(p);

  it('lists, the fleet summary and single objects answer only within the scope', async () => {
    const hosts = await alice.req('GET', '/api/hosts');
    expect(hosts.body.items.map((x: { name: string }) => x.name)).toEqual(['inside-host']);
    const jobs = await alice.req('GET', '/api/jobs');
    expect(jobs.body.items.map((j: { host_id: string }) => j.host_id)).toEqual([inside.hostId]);
    const alerts = await alice.req('GET', '/api/alerts');
    expect(alerts.body.items.map((a: { id: string }) => a.id)).toEqual([inside.alert]);
    expect((await alice.req('GET', '/api/auth/me')).body.scope_tags).toEqual(['team-a']);
    const summary = await alice.req('GET', '/api/fleet/summary');
    expect(summary.body).toMatchObject({ hosts_total: 1, open_alerts: 1 });
    expect((await h.admin.req('GET', '/api/fleet/summary')).body.hosts_total).toBe(2);
    const one = await alice.req('GET', `/api/hosts/${outside.hostId}`);
    expect(one.status).toBe(403);
    expect(one.body.error.message).toMatch(/your account is limited to hosts tagged team-a; host .* is not/);
  });

  it('every REST route: refused (403) outside the scope and on fleet-wide routes, allowed inside by role', async () => {
    const failures: string[] = [];
    const jobsBefore = (await h.admin.req('GET', `/api/jobs?host_id=${outside.hostId}`)).body.total as number;
    for (const r of h.server.routes) {
      if (r.access === 'public' || RANK.operator < RANK[r.access]) continue;
      const target = scopeTargetOf(r);
      const body = ['post', 'put', 'patch'].includes(r.method) ? {} : undefined;
      const api = r.path === '/api/auth/logout' ? await login() : alice;
      const inRes = await api.req(r.method.toUpperCase(), fill(r.path, destructive(r.method, r.path) ? null : inside), body);
      if (target === null) {
        // Session-only self-service routes (own tokens, sign-out) stay open; everything else is refused.
        if (r.bearer === false) {
          if (inRes.status === 403 || inRes.status >= 500) failures.push(`${r.method} ${r.path} (own account): ${inRes.status} ${inRes.text}`);
        } else if (inRes.status !== 403 || !LIMITED.test(inRes.text)) failures.push(`${r.method} ${r.path} fleet-wide: expected 403, got ${inRes.status} ${inRes.text}`);
        continue;
      }
      if (inRes.status === 401 || inRes.status === 403 || inRes.status >= 500) failures.push(`${r.method} ${r.path} inside: ${inRes.status} ${inRes.text}`);
      if (['host', 'job', 'schedule', 'alert'].includes(target ?? '')) {
        const outRes = await alice.req(r.method.toUpperCase(), fill(r.path, outside), body);
        if (outRes.status !== 403 || !LIMITED.test(outRes.text)) failures.push(`${r.method} ${r.path} outside: ${outRes.status} ${outRes.text}`);
      }
    }
    expect(failures).toEqual([]);
    // Nothing was done outside the scope: no job started, the job still runs, the alert is unacknowledged, the schedule is there.
    expect((await h.admin.req('GET', `/api/jobs?host_id=${outside.hostId}`)).body.total).toBe(jobsBefore);
    expect((await h.admin.req('GET', `/api/jobs/${outside.job}`)).body.status).not.toBe('cancelled');
    expect((await h.admin.req('GET', `/api/alerts?host_id=${outside.hostId}`)).body.items[0].acknowledged_at).toBeNull();
    expect((await h.admin.req('GET', `/api/hosts/${outside.hostId}/schedules`)).body.items.map((s: { id: string }) => s.id)).toContain(outside.schedule);
  });

  it('a body naming an out-of-scope host is refused (cross-host restore source, drill host), and tags cannot leave or widen the scope', async () => {
    const restore = await alice.req('POST', `/api/hosts/${inside.hostId}/restore`, { source_host_id: outside.hostId, snapshot_id: 'abc', restore_to: 'in_place', paths: ['/srv'] });
    expect(restore.status).toBe(403);
    expect(restore.body.error.message).toMatch(/source_host_id: host .* is not/);
    const drill = await alice.req('POST', `/api/hosts/${inside.hostId}/restore-drills`, { drill_host_id: outside.hostId });
    expect(drill.status).toBe(403);
    expect(drill.body.error.message).toMatch(/drill_host_id/);
    const leave = await alice.req('PUT', `/api/hosts/${inside.hostId}/tags`, { tags: ['linux'] });
    expect(leave.status).toBe(403);
    expect(leave.body.error.fields).toHaveProperty('tags');
    const widen = await alice.req('PUT', `/api/hosts/${inside.hostId}/tags`, { tags: ['team-a', 'team-b'] });
    expect(widen.status).toBe(403);
    expect(widen.body.error.message).toMatch(/team-b is outside it/);
    expect((await h.admin.req('GET', `/api/hosts/${inside.hostId}`)).body.tags).toEqual(['team-a']);
  });

  it('every web page and form action: out-of-scope and fleet-wide ones refused before they do anything', async () => {
    const failures: string[] = [];
    const hx = { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' };
    expect(h.server.webRoutes.length).toBeGreaterThan(50);
    for (const r of h.server.webRoutes) {
      // Public and machine endpoints answer no session at all (/metrics: RM_METRICS_TOKEN or an allowed address).
      if (/^\/(static|login|logout|healthz|readyz|install|metrics|auth\/oidc)/.test(r.path)) continue;
      const method = r.method;
      const body = method === 'GET' ? undefined : '';
      const inPath = fill(r.path, destructive(method.toLowerCase(), r.path) ? null : inside);
      const t = webScopeTargetOf(inPath);
      const inRes = await alice.req(method, inPath, body, hx);
      // Refused for its role, or (tags) for an empty tag list that would move the host out of the scope.
      const roleRefusal = /requires the (admin|operator) role|"tags: keep at least one of your scope tags/.test(inRes.text);
      if (t.kind === 'fleet') {
        if (inRes.status !== 403 || !LIMITED.test(inRes.text)) failures.push(`${method} ${r.path} fleet-wide: ${inRes.status} ${inRes.text.slice(0, 200)}`);
        continue;
      }
      if ((inRes.status === 403 && !roleRefusal) || inRes.status === 401 || inRes.status >= 500) failures.push(`${method} ${r.path} inside: ${inRes.status} ${inRes.text.slice(0, 200)}`);
      if (t.kind !== 'open') {
        const outRes = await alice.req(method, fill(r.path, outside), body, hx);
        if (outRes.status !== 403 || !LIMITED.test(outRes.text)) failures.push(`${method} ${r.path} outside: ${outRes.status} ${outRes.text.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    // The pages show only what is in scope.
    const dash = await alice.req('GET', '/');
    expect(dash.text).toContain('inside-host');
    expect(dash.text).not.toContain('outside-host');
    const jobs = await alice.req('GET', '/jobs');
    expect(jobs.text).toContain(`/jobs/${inside.job}`);
    expect(jobs.text).not.toContain(`/jobs/${outside.job}`);
    const alerts = await alice.req('GET', '/alerts');
    expect(alerts.text).toContain('backup failed on inside-host');
    expect(alerts.text).not.toContain('outside-host');
    const restorePage = await alice.req('GET', `/hosts/${inside.hostId}/restore`);
    expect(restorePage.status).toBe(200);
    expect(restorePage.text).not.toContain(outside.hostId);
    // A full page outside the scope is an HTML "Not allowed" page.
    const page = await alice.req('GET', `/hosts/${outside.hostId}`);
    expect(page.status).toBe(403);
    expect(page.text).toContain('Not allowed');
    // An in-scope form still reaches its action with its fields (the guard read the body first).
    const retag = await alice.req('POST', `/hosts/${inside.hostId}/tags`, 'tags=team-a', hx);
    expect(retag.status, retag.text).toBe(204);
    // A form naming an out-of-scope restore target is refused.
    const review = await alice.req('POST', `/hosts/${inside.hostId}/restore/review`, `target_host_id=${outside.hostId}&snapshot_id=abc`, hx);
    expect(review.status).toBe(403);
    expect(review.body.error.message).toMatch(/target_host_id: host .* is not/);
  });

  it('the live job stream: an out-of-scope job cannot be subscribed to, an in-scope one can', async () => {
    const open = (jobId: string) => new Promise<number>((resolve) => {
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/api/jobs/${jobId}/stream`, { headers: { cookie: `rm_session=${alice.cookie ?? ''}` } });
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
    });
    expect(await open(outside.job)).toBe(403);
    expect(await open(inside.job)).toBe(101);
  });

  it('audit search: scope refusals are audited (once a minute per path) and found by action and actor; a scoped user cannot search the audit log', async () => {
    for (let i = 0; i < 5; i++) expect((await alice.req('GET', `/api/hosts/${outside.hostId}/snapshots`)).status).toBe(403);
    const found = await h.admin.req('GET', `/api/audit?action=scope.denied&user_id=${aliceId}&limit=500`);
    expect(found.status).toBe(200);
    const rows = (found.body.items as { payload: { path: string; reason: string; scope_tags: string[] } }[]).filter((r) => r.payload.path === `/api/hosts/${outside.hostId}/snapshots`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.payload).toMatchObject({ reason: 'scope', scope_tags: ['team-a'] });
    const own = await alice.req('GET', '/api/audit');
    expect(own.status).toBe(403);
  });

  it('hostile scope_tags are refused naming the field; admins cannot be scoped; a token is never wider than its creator', async () => {
    const bad = [['bad tag!'], [], ['x'.repeat(65)], 'team-a', [42], Array.from({ length: 33 }, (_, i) => `t${i}`)];
    for (const scope_tags of bad) {
      const r = await h.admin.req('POST', '/api/users', { username: 'bob', password: PASSWORD, role: 'viewer', scope_tags });
      expect(r.status, JSON.stringify(scope_tags)).toBe(400);
      expect(r.body.error.message).toMatch(/scope_tags/);
      const p = await h.admin.req('PUT', `/api/users/${aliceId}/scope`, { scope_tags });
      expect(p.status).toBe(400);
      expect(p.body.error.message).toMatch(/scope_tags/);
    }
    const admin = await h.admin.req('POST', '/api/users', { username: 'carol', password: PASSWORD, role: 'admin', scope_tags: ['team-a'] });
    expect(admin.status).toBe(400);
    expect(admin.body.error.fields.scope_tags).toMatch(/an admin cannot be limited to host tags/);
    const promote = await h.admin.req('PUT', `/api/users/${aliceId}/role`, { role: 'admin' });
    expect(promote.status).toBe(400);
    expect(promote.body.error.message).toMatch(/clear the scope first/);
    const adminId = (await h.admin.req('GET', '/api/auth/me')).body.user?.id ?? (await h.admin.req('GET', '/api/users')).body.items.find((x: { username: string }) => x.username === 'admin').id;
    expect((await h.admin.req('PUT', `/api/users/${adminId}/scope`, { scope_tags: ['team-a'] })).status).toBe(400);
    expect((await alice.req('PUT', `/api/users/${aliceId}/scope`, { scope_tags: null })).status).toBe(403);

    const wide = await alice.req('POST', '/api/tokens', { name: 'wide', scope_tags: ['team-b'] });
    expect(wide.status).toBe(403);
    expect(wide.body.error.fields.scope_tags).toMatch(/team-b is outside it/);
    const mine = await alice.req('POST', '/api/tokens', { name: 'mine' });
    expect(mine.status).toBe(201);
    expect(mine.body.api_token.scope_tags).toEqual(['team-a']);
    const list = await fetch(`${h.url}/api/hosts`, { headers: { authorization: `Bearer ${mine.body.token}` } });
    expect(((await list.json()) as { items: { name: string }[] }).items.map((x) => x.name)).toEqual(['inside-host']);
    // Narrowing the account later narrows its tokens at once.
    expect((await h.admin.req('PUT', `/api/users/${aliceId}/scope`, { scope_tags: ['team-c'] })).status).toBe(200);
    const after = await fetch(`${h.url}/api/hosts`, { headers: { authorization: `Bearer ${mine.body.token}` } });
    expect(((await after.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await alice.req('GET', '/api/hosts')).body.items).toEqual([]);
    expect((await h.admin.req('PUT', `/api/users/${aliceId}/scope`, { scope_tags: ['team-a'] })).body.scope_tags).toEqual(['team-a']);
  });

  it('an OIDC groups claim that makes a scoped user admin clears the scope (an admin is never scoped)', async () => {
    const u = await h.admin.req('POST', '/api/users', { username: 'erin', password: PASSWORD, role: 'viewer', scope_tags: ['team-a'] });
    const row = (await h.server.db.selectFrom('users').selectAll().where('id', '=', u.body.id as string).executeTakeFirst())!;
    await h.server.services.auth.applyRole({ kind: 'system' }, row, 'admin', 'oidc');
    const after = (await h.admin.req('GET', '/api/users?limit=500')).body.items.find((x: { id: string }) => x.id === u.body.id);
    expect(after).toMatchObject({ role: 'admin', scope_tags: null });
    const audit = await h.admin.req('GET', `/api/audit?action=user.scope&target_id=${u.body.id as string}`);
    expect(audit.body.items[0].payload).toMatchObject({ from: ['team-a'], to: null, via: 'oidc' });
  });
});
