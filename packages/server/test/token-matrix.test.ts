import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import { scopeTargetOf } from '../src/http/token-guard.js';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, startHarness } from './helpers/harness.js';

/*
 * The role matrix (roles.test.ts) again, for API tokens instead of sessions: every route × every
 * token role, no CSRF token sent; session-only routes refuse every token; and route by route for
 * a token scoped to a tag, with a host (and a job) inside the scope and one outside it.
 */
const RANK = { viewer: 1, operator: 2, admin: 3 } as const;
type Role = keyof typeof RANK;

async function call(url: string, token: string, method: string, p: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    /* not JSON */
  }
  return { status: r.status, code, text };
}

describe('API token matrix: every route × every token role, and a scoped token route by route', () => {
  let h: Harness;
  const tokens: Partial<Record<Role, string>> = {};
  let scoped = '';
  let inside: { hostId: string; agent: FakeAgent; job: string };
  let outside: { hostId: string; agent: FakeAgent; job: string };

  beforeAll(async () => {
    h = await startHarness({ logLevel: 'warn' });
    for (const role of ['viewer', 'operator', 'admin'] as const) tokens[role] = (await h.admin.req('POST', '/api/tokens', { name: role, role })).body.token;
    scoped = (await h.admin.req('POST', '/api/tokens', { name: 'scoped', role: 'admin', scope_tags: ['inside'] })).body.token;
    const mk = async (name: string, tag: string) => {
      const a = await enrolledAgent(h, name);
      await h.admin.req('PUT', `/api/hosts/${a.hostId}/tags`, { tags: [tag] });
      await a.agent.connect();
      const run = await h.admin.req('POST', `/api/hosts/${a.hostId}/jobs`, { kind: 'check', args: {} });
      await a.agent.next('command.run');
      return { hostId: a.hostId, agent: a.agent, job: run.body.job.id as string };
    };
    inside = await mk('inside-host', 'inside');
    outside = await mk('outside-host', 'outside');
  });
  afterAll(async () => {
    await inside.agent.close();
    await outside.agent.close();
    await h.close();
  });

  const pathFor = (p: string, host: string, job: string) => (p.startsWith('/api/jobs/:id') ? p.replace(':id', job) : p.replace(':id', host)).replace(/:[a-z_]+/g, 'no-such-id');
  // Routes that would end the fixture (delete a host, revoke tokens) are probed with a missing id instead.
  const destructive = (m: string, p: string) => m === 'delete' || p.includes('enrollment-token') || p.includes('credentials');

  it('a token acts with its role on every route; session-only routes refuse it; no CSRF token is needed', async () => {
    const failures: string[] = [];
    for (const r of h.server.routes) {
      if (r.access === 'public') continue;
      const body = ['post', 'put', 'patch'].includes(r.method) ? {} : undefined;
      const p = pathFor(r.path, 'no-such-id', 'no-such-id');
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const res = await call(h.url, tokens[role]!, r.method.toUpperCase(), p, body);
        const sessionOnly = r.bearer === false;
        const allowed = !sessionOnly && RANK[role] >= RANK[r.access];
        if (res.status === 401 || res.status >= 500) failures.push(`${r.method} ${r.path} as ${role} token: ${res.status} ${res.text}`);
        else if (allowed && res.status === 403) failures.push(`${r.method} ${r.path} as ${role} token: 403 ${res.text}`);
        else if (!allowed && (res.status !== 403 || res.code !== 'forbidden')) failures.push(`${r.method} ${r.path} as ${role} token: expected 403, got ${res.status}`);
        if (res.code === 'csrf_failed') failures.push(`${r.method} ${r.path}: asked a token for CSRF`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('a scoped token reaches only hosts (and jobs of hosts) carrying its tag, and no fleet-wide route', async () => {
    const failures: string[] = [];
    for (const r of h.server.routes) {
      if (r.access === 'public' || r.bearer === false) continue;
      const target = scopeTargetOf(r);
      const body = ['post', 'put', 'patch'].includes(r.method) ? {} : undefined;
      const unsafe = destructive(r.method, r.path);
      const inPath = pathFor(r.path, unsafe ? 'no-such-id' : inside.hostId, inside.job);
      const outPath = pathFor(r.path, outside.hostId, outside.job);
      const inRes = await call(h.url, scoped, r.method.toUpperCase(), inPath, body);
      if (target === null) {
        if (inRes.status !== 403) failures.push(`${r.method} ${r.path}: not a host route, yet a scoped token got ${inRes.status}`);
        continue;
      }
      if (inRes.status === 403 || inRes.status === 401 || inRes.status >= 500) failures.push(`${r.method} ${r.path} inside the scope: ${inRes.status} ${inRes.text}`);
      if (target === 'host' || target === 'job') {
        const outRes = await call(h.url, scoped, r.method.toUpperCase(), outPath, body);
        if (outRes.status !== 403 || !/limited to hosts tagged inside/.test(outRes.text)) failures.push(`${r.method} ${r.path} outside the scope: ${outRes.status} ${outRes.text}`);
      }
    }
    expect(failures).toEqual([]);
    const list = await call(h.url, scoped, 'GET', '/api/hosts');
    expect((JSON.parse(list.text) as { items: { name: string }[] }).items.map((x) => x.name)).toEqual(['inside-host']);
  });
});
