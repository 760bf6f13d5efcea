import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { Api, enrolledAgent, startHarness } from './helpers/harness.js';

/*
 * Issue 13 finding 1 against a running server: form fields named `__proto__.x` and
 * `constructor.prototype.x` posted to the real form routes are refused as field errors, and the
 * server keeps serving everyone (requests with a body, /metrics).
 */
describe('prototype-pollution field names posted to the web forms', () => {
  let h: Harness;
  let agent: FakeAgent;
  let hostId: string;
  beforeAll(async () => {
    h = await startHarness({}, { mountWeb: undefined });
    ({ agent, hostId } = await enrolledAgent(h, 'pp-host', { url: '/srv/repo', password: 'repo-password-123456' }));
    await agent.connect();
  });
  afterAll(async () => {
    await agent?.close();
    await h?.close();
  });

  const form = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };

  it('each form route answers 400 naming the field, and nothing reaches Object.prototype', async () => {
    const routes: [string, string, string][] = [
      ['POST', `/hosts/${hostId}/run`, 'kind=backup&args.paths=%2Fetc'],
      ['POST', `/hosts/${hostId}/schedules`, 'kind=backup&cron_expr=0+3+*+*+*&paths=%2Fetc'],
      ['PUT', '/schedules/nope', 'kind=backup'],
      ['POST', `/hosts/${hostId}/maintenance/run`, 'kind=forget&policy.keep_last=3'],
      ['POST', `/hosts/${hostId}/restore/database`, 'snapshot_id=x'],
      ['POST', `/hosts/${hostId}/vault`, 'url=%2Fsrv%2Fv'],
      ['POST', '/settings/channels', 'type=webhook&name=n'],
      ['POST', '/hosts/new', 'name=x'],
    ];
    for (const [method, path, rest] of routes) {
      for (const evil of ['__proto__.x=1', 'constructor.prototype.x=1', '__proto__.polluted=yes']) {
        const r = await h.admin.req(method, path, `${evil}&${rest}`, form);
        expect(r.status, `${method} ${path} ${evil}: ${r.text}`).toBe(400);
        expect(r.body.error.code).toBe('validation_failed');
        expect(Object.keys(r.body.error.fields ?? {})).toEqual([evil.slice(0, evil.indexOf('='))]);
      }
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the maintenance form refuses a kind that is not a maintenance job, naming the field', async () => {
    for (const kind of ['backup', 'restore', 'toString', '']) {
      const r = await h.admin.req('POST', `/hosts/${hostId}/maintenance/run`, `kind=${kind}`, form);
      expect(r.status, `${kind}: ${r.text}`).toBe(400);
      expect(r.body.error.fields).toEqual({ kind: 'forget, prune, check or unlock' });
    }
  });

  it('after those requests the server still answers requests with a body, other users, and /metrics', async () => {
    await h.admin.req('POST', `/hosts/${hostId}/run`, '__proto__.x=1&kind=backup', form);
    await h.admin.req('POST', `/hosts/${hostId}/run`, 'constructor.prototype.x=1&kind=backup', form);
    const created = await h.admin.req('POST', '/api/users', { username: 'after-pp', password: 'a-long-enough-Passphrase-9', role: 'operator' });
    expect(created.status, created.text).toBe(201);
    const other = new Api(h.url);
    expect((await other.login('after-pp', 'a-long-enough-Passphrase-9')).status).toBe(200);
    const tags = await other.req('POST', `/hosts/${hostId}/tags`, 'tags=prod', form);
    expect(tags.status, tags.text).toBe(204);
    expect((await other.req('GET', `/api/hosts/${hostId}`)).body.tags).toEqual(['prod']);
    const run = await h.admin.req('POST', `/hosts/${hostId}/run`, 'kind=backup&args.paths=%2Fetc', form);
    expect(run.status, run.text).toBe(200);
    expect(run.headers.get('hx-redirect')).toMatch(/^\/jobs\//);
    const metrics = await fetch(`${h.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('restic_manager_build_info');
  });

  it('the host delete form reads its confirmation from the query (htmx DELETE) and a POST never merges the query', async () => {
    const other = await enrolledAgent(h, 'pp-delete', { url: '/srv/repo2', password: 'repo-password-123456' });
    const wrong = await h.admin.req('DELETE', `/hosts/${other.hostId}?confirm=nope`, undefined, { 'hx-request': 'true' });
    expect(wrong.status).toBe(400);
    const tags = await h.admin.req('POST', `/hosts/${hostId}/tags?tags=from-query`, 'other=1', form);
    expect(tags.status).toBe(204);
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body.tags).toEqual([]);
    const ok = await h.admin.req('DELETE', `/hosts/${other.hostId}?confirm=pp-delete`, undefined, { 'hx-request': 'true' });
    expect(ok.status, ok.text).toBe(200);
  });
});
