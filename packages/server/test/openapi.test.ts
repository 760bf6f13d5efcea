import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CronPreviewView, MaintenanceCredentialStatus, OverdueSchedulesView, RepoLocksView, isAgeRecipient } from '@restic-manager/protocol';
import type { Harness } from './helpers/harness.js';
import { REPO, startHarness } from './helpers/harness.js';

/*
 * The OpenAPI document must tell the truth about what each route answers (schemathesis.test.ts
 * fuzzes against it). Each test here pins one place where it used to lie.
 */

type Op = { responses: Record<string, { content?: Record<string, { schema: unknown }>; links?: Record<string, { operationRef: string; parameters: Record<string, string> }> }> };

/** A raw GET: fetch refuses some of the requests these tests need to send. */
function rawGet(url: string, p: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${p}`, { method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('OpenAPI document accuracy', () => {
  let h: Harness;
  let op: (path: string, method: string) => Op;
  beforeAll(async () => {
    h = await startHarness({ logLevel: 'warn' });
    const doc = (await h.admin.req('GET', '/api/openapi.json')).body as { paths: Record<string, Record<string, Op>> };
    op = (p, m) => {
      const o = doc.paths[p]?.[m];
      if (!o) throw new Error(`no ${m} ${p} in the document`);
      return o;
    };
  });
  afterAll(async () => h.close());

  it('documents 204 for routes that answer without a body, and they answer 204', async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 'gone-soon', repository: REPO });
    const del = await h.admin.req('DELETE', `/api/hosts/${add.body.host_id}`);
    expect(del.status).toBe(204);
    expect(Object.keys(op('/api/hosts/{id}', 'delete').responses)).toEqual(['204', '4XX']);
    expect(Object.keys(op('/api/schedules/{id}', 'delete').responses)).toContain('204');
    expect(Object.keys(op('/api/auth/logout', 'post').responses)).toContain('204');
  });

  it('documents the JSON bodies of the maintenance routes, and the answers match them', async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 'maint', repository: REPO });
    const id = add.body.host_id as string;
    const cases: [string, string, { safeParse(v: unknown): { success: boolean } }][] = [
      [`/api/hosts/${id}/maintenance-credential`, '/api/hosts/{id}/maintenance-credential', MaintenanceCredentialStatus],
      [`/api/hosts/${id}/locks`, '/api/hosts/{id}/locks', RepoLocksView],
      ['/api/schedules/preview?cron_expr=0%203%20*%20*%20*&time_zone=UTC', '/api/schedules/preview', CronPreviewView],
      ['/api/schedules/overdue', '/api/schedules/overdue', OverdueSchedulesView],
    ];
    for (const [url, p, schema] of cases) {
      const r = await h.admin.req('GET', url);
      expect(r.status, `${url}: ${r.text}`).toBe(200);
      expect(schema.safeParse(r.body).success, `${url} answered ${r.text}`).toBe(true);
      expect(op(p, 'get').responses['200']?.content?.['application/json']?.schema, p).toBeTruthy();
    }
    expect(op('/api/hosts/{id}/hooks', 'put').responses['200']?.content).toBeTruthy();
  });

  it('documents the redirects of the OIDC sign-in routes (OIDC off: 303 to the login page)', async () => {
    const r = await fetch(`${h.url}/auth/oidc/login`, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/login?sso_error=not_configured');
    expect(Object.keys(op('/auth/oidc/login', 'get').responses).sort()).toEqual(['302', '303', '4XX']);
    expect(Object.keys(op('/auth/oidc/callback', 'get').responses).sort()).toEqual(['200', '303', '4XX']);
    expect(op('/auth/oidc/callback', 'get').responses['200']?.content).toHaveProperty(['text/html']);
  });

  it("documents 503 agent_unavailable where a route asks the host's agent, and 502 delivery_failed for a channel test", async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 'offline', repository: REPO });
    const r = await h.admin.req('GET', `/api/hosts/${add.body.host_id}/snapshots/feedc0de/ls?path=/`);
    expect([404, 503]).toContain(r.status);
    expect(op('/api/hosts/{id}/snapshots/{snapshot_id}/ls', 'get').responses).toHaveProperty('503');
    expect(op('/api/hosts/{id}/restore', 'post').responses).toHaveProperty('503');
    expect(op('/api/notification-channels/{id}/test', 'post').responses).toHaveProperty('502');
    expect(op('/api/hosts', 'get').responses).not.toHaveProperty('503');
  });

  it('links each creating route to the routes under the id it returns', () => {
    const links = op('/api/hosts', 'post').responses['201']?.links ?? {};
    const toGet = Object.values(links).find((l) => l.operationRef === '#/paths/~1api~1hosts~1{id}/get');
    expect(toGet?.parameters).toEqual({ 'path.id': '$response.body#/host_id' });
    expect(Object.values(op('/api/hosts/{id}/jobs', 'post').responses['202']?.links ?? {}).map((l) => l.operationRef)).toContain('#/paths/~1api~1jobs~1{id}/get');
    expect(Object.values(op('/api/users', 'post').responses['201']?.links ?? {}).map((l) => l.operationRef)).toEqual([
      '#/paths/~1api~1users~1{id}~1scope/put', '#/paths/~1api~1users~1{id}~1role/put', '#/paths/~1api~1users~1{id}~1api-tokens/get', '#/paths/~1api~1users~1{id}~1api-tokens/post',
      '#/paths/~1api~1users~1{id}~1totp~1reset/post',
    ]);
    // A host's vault target exists only once set: adding a host does not make GET …/vault available.
    const refs = Object.values(links).map((l) => l.operationRef);
    expect(refs).not.toContain('#/paths/~1api~1hosts~1{id}~1vault/get');
    expect(refs).toContain('#/paths/~1api~1hosts~1{id}~1vault/put');
  });

  it('documents the shape of trend times and age recipients, and a value of that shape is accepted', async () => {
    const doc = (await h.admin.req('GET', '/api/openapi.json')).body;
    const since = doc.paths['/api/fleet/trends'].get.parameters.find((p: { name: string }) => p.name === 'since').schema;
    expect(new RegExp(since.pattern).test('2026-11-01')).toBe(true);
    expect(new RegExp(since.pattern).test('yesterday')).toBe(false);
    expect((await h.admin.req('GET', '/api/fleet/trends?since=2026-11-01T00:00:00Z')).status).toBe(200);
    const recipient = doc.paths['/api/hosts/{id}/vault'].put.requestBody.content['application/json'].schema.properties.age_recipient;
    expect(recipient.pattern).toBe('^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$');
  });

  it('marks a request body optional when every field is, and such a route accepts no body', async () => {
    expect(op('/api/alert-settings', 'put')).toMatchObject({ requestBody: { required: false } });
    expect(op('/api/hosts', 'post')).toMatchObject({ requestBody: { required: true } });
    const r = await h.admin.req('PUT', '/api/alert-settings');
    expect(r.status, r.text).toBe(200);
  });

  it('answers 405 with Allow for a method a known path does not serve, 404 for an unknown path', async () => {
    const patch = await h.admin.req('PATCH', '/api/auth/login');
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('POST');
    expect(patch.body.error.code).toBe('method_not_allowed');
    const add = await h.admin.req('POST', '/api/hosts', { name: 'allow', repository: REPO });
    const put = await h.admin.req('PUT', `/api/hosts/${add.body.host_id}`);
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD']);
    expect((await h.admin.req('GET', '/api/no-such-thing')).status).toBe(404);
    expect((await h.admin.req('GET', '/api/hosts/')).status).toBe(404);
  });

  it('writes every pattern portably: it compiles as a Unicode regex and spells NUL \\x00, not \\0 (Rust and Python engines reject \\0)', async () => {
    const doc = (await h.admin.req('GET', '/api/openapi.json')).body;
    const patterns: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'pattern' && typeof x === 'string') patterns.push(x);
          else walk(x);
        }
      }
    };
    walk(doc.paths);
    expect(patterns.length).toBeGreaterThan(5);
    for (const p of patterns) {
      expect(() => new RegExp(p, 'u'), p).not.toThrow();
      expect(p, p).not.toMatch(/\\0/);
    }
    expect(patterns).toContain('^[^\\x00\\s]+$');
  });

  it('gives examples for cron expressions, time zones and age recipients, and every example is accepted', async () => {
    const doc = (await h.admin.req('GET', '/api/openapi.json')).body;
    const cron = doc.paths['/api/hosts/{id}/schedules'].post.requestBody.content['application/json'].schema.properties.cron_expr;
    expect(cron.examples.length).toBeGreaterThan(0);
    for (const e of cron.examples as string[]) {
      const r = await h.admin.req('GET', `/api/schedules/preview?cron_expr=${encodeURIComponent(e)}&time_zone=UTC`);
      expect(r.status, `${e}: ${r.text}`).toBe(200);
    }
    const add = await h.admin.req('POST', '/api/hosts', { name: 'examples', repository: REPO });
    const tz = doc.paths['/api/hosts/{id}/time-zone'].put.requestBody.content['application/json'].schema.properties.time_zone;
    const zones = (tz.anyOf ?? [tz]).flatMap((s: { examples?: string[] }) => s.examples ?? []);
    expect(zones.length).toBeGreaterThan(0);
    for (const z of zones) expect((await h.admin.req('PUT', `/api/hosts/${add.body.host_id}/time-zone`, { time_zone: z })).status, z).toBe(200);
    const recipient = doc.paths['/api/hosts/{id}/vault'].put.requestBody.content['application/json'].schema.properties.age_recipient;
    for (const e of recipient.examples as string[]) expect(isAgeRecipient(e), e).toBe(true);
  });

  it('answers a request line over the 16 KiB header limit with a JSON 431 error, not an empty body', async () => {
    const r = await rawGet(h.url, `/auth/oidc/login?next=${'%F0%97%82%A3'.repeat(2048)}`);
    expect(r.status).toBe(431);
    expect(r.type).toBe('application/json');
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'too_large', message: expect.stringContaining('16 KiB') } });
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});
