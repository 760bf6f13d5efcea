import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { Api, startHarness } from './helpers/harness.js';

/** Every endpoint listed in spec §6.1 (the WS stream is covered in job-stream.test.ts). */
const SPEC_ROUTES = [
  'POST /api/auth/login', 'POST /api/auth/logout', 'GET /api/fleet/summary', 'GET /api/hosts', 'GET /api/hosts/:id',
  'DELETE /api/hosts/:id', 'POST /api/hosts/:id/enrollment-token', 'POST /api/hosts/:id/agent/update',
  'GET /api/hosts/:id/snapshots', 'GET /api/hosts/:id/repo', 'POST /api/hosts/:id/jobs', 'POST /api/hosts/:id/restore',
  'GET /api/hosts/:id/schedules', 'POST /api/hosts/:id/schedules', 'PUT /api/schedules/:id', 'DELETE /api/schedules/:id',
  'GET /api/jobs', 'GET /api/jobs/:id', 'GET /api/jobs/:id/logs', 'POST /api/jobs/:id/cancel', 'GET /api/repos',
  'GET /api/repos/:id', 'GET /api/alerts', 'POST /api/alerts/:id/ack', 'GET /api/audit', 'GET /api/users', 'POST /api/users',
];
const RANK = { viewer: 1, operator: 2, admin: 3 } as const;
type Role = keyof typeof RANK;

describe('role matrix: every route x every role x no session', () => {
  let h: Harness;
  const clients: Partial<Record<Role, Api>> = {};
  beforeAll(async () => {
    h = await startHarness();
    for (const role of ['viewer', 'operator'] as const) {
      const r = await h.admin.req('POST', '/api/users', { username: role, password: `${role}-password-123`, role });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => h.close());

  const login = async (role: Role): Promise<Api> => {
    const api = new Api(h.url);
    const r = await api.login(role, role === 'admin' ? 'admin-password-for-tests-1' : `${role}-password-123`);
    expect(r.status).toBe(200);
    return api;
  };

  it('implements every §6.1 endpoint', () => {
    const have = new Set(h.server.routes.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    expect(SPEC_ROUTES.filter((r) => !have.has(r))).toEqual([]);
  });

  it('vault target routes: viewers read it, only admins set or clear it', () => {
    const access = Object.fromEntries(h.server.routes.filter((r) => r.path === '/api/hosts/:id/vault').map((r) => [r.method, r.access]));
    expect(access).toEqual({ get: 'viewer', put: 'admin', delete: 'admin' });
  });

  it('answers 401 without a session, 403 below the role, and passes the check at or above it', async () => {
    const failures: string[] = [];
    for (const role of ['viewer', 'operator', 'admin'] as const) clients[role] = await login(role);
    for (const r of h.server.routes) {
      const p = r.path.replace(/:id/g, 'no-such-id');
      const body = ['post', 'put', 'patch'].includes(r.method) ? {} : undefined;
      const anon = await new Api(h.url).req(r.method.toUpperCase(), p, body);
      if (r.access === 'public') {
        if (anon.status === 401 && !p.includes('login') && !p.includes('enroll')) failures.push(`${r.method} ${r.path} public but 401`);
      } else if (anon.status !== 401 || anon.body?.error?.code !== 'unauthorized') {
        failures.push(`${r.method} ${r.path} without session: ${anon.status}`);
      }
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        if (r.access === 'public') continue;
        const api = r.path === '/api/auth/logout' ? await login(role) : clients[role]!;
        const res = await api.req(r.method.toUpperCase(), p, body);
        const allowed = RANK[role] >= RANK[r.access];
        if (allowed && (res.status === 401 || res.status === 403)) failures.push(`${r.method} ${r.path} as ${role}: ${res.status} ${res.text}`);
        if (!allowed && (res.status !== 403 || res.body?.error?.code !== 'forbidden')) failures.push(`${r.method} ${r.path} as ${role}: expected 403, got ${res.status}`);
        expect(res.status).toBeLessThan(500);
      }
    }
    expect(failures).toEqual([]);
  });
});
