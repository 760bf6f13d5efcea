import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { ADMIN_PASSWORD, Api, databaseText, startHarness } from './helpers/harness.js';

/**
 * After a full flow, no secret may appear in logs, the audit log, API responses, error texts or
 * the database files (secrets are sealed at rest). Only the designated channels carry them: the
 * add-host answer (generated passwords, once), enrollment (the bearer) and config.update.
 */
describe('secrets never leak', () => {
  let h: Harness;
  const REPO_PASSWORD = 'repo-pw-MARKER-7f3a9c';
  const REST_PASSWORD = 'rest-pw-MARKER-1b2c3d';
  const HOOK = 'pg_dump --password=HOOK-MARKER-99 db';
  const USER_PASSWORD = 'operator-pw-MARKER-55';
  const seen: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  const record = async (api: Api, method: string, p: string, body?: unknown) => {
    const r = await api.req(method, p, body);
    seen.push(r.text);
    return r;
  };

  it('keeps every secret out of logs, audit payloads, API responses, errors and the database', async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 'vault-host', repository: { url: 'rest:https://rest.lan/vault-host/', password: REPO_PASSWORD, rest_username: 'vault-host', rest_password: REST_PASSWORD } });
    expect(add.status).toBe(201);
    const token = add.body.token as string;
    const enr = await FakeAgent.enroll(h.url, token, 'vault-host');
    const bearer = enr.bearer_token;
    const agent = new FakeAgent({ url: h.url, bearer });
    await agent.connect();
    expect(await agent.next('config.update')).toMatchObject({ password: REPO_PASSWORD, rest_password: REST_PASSWORD });
    const hostId = enr.host_id;
    await record(h.admin, 'POST', '/api/users', { username: 'op', password: USER_PASSWORD, role: 'operator' });
    const sched = await record(h.admin, 'POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '@daily', paths: ['/'], pre_hook: HOOK });
    await record(h.admin, 'PUT', `/api/schedules/${sched.body.id}`, { kind: 'backup', cron_expr: '@hourly', paths: ['/'], post_hook: HOOK });
    const run = await record(h.admin, 'POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: ['/'], pre_hook: HOOK } });
    expect(run.status).toBe(202);
    expect((await agent.next('command.run')) as unknown).toMatchObject({ args: { pre_hook: HOOK } });
    agent.started(run.body.job.id, 'backup');
    agent.finished(run.body.job.id, 'succeeded');
    const NEW_PASSWORD = `${REPO_PASSWORD}-rotated`;
    const rot = await record(h.admin, 'PUT', `/api/hosts/${hostId}/credentials`, { repository: { url: 'rest:https://rest.lan/v2/', password: NEW_PASSWORD, rest_username: 'vault-host', rest_password: REST_PASSWORD } });
    expect(rot.body.pushed).toBe(true);
    expect(await agent.next('config.update')).toMatchObject({ password: NEW_PASSWORD });
    // Error paths that are handed a secret.
    await record(new Api(h.url), 'POST', '/api/auth/login', { username: 'admin', password: REPO_PASSWORD });
    await record(new Api(h.url), 'POST', '/api/auth/login', { username: REST_PASSWORD, password: 'x' });
    await record(new Api(h.url), 'POST', '/api/agents/enroll', { token, hostname: 'again' });
    await record(new Api(h.url), 'POST', '/api/agents/enroll', { token: bearer, hostname: 'again' });
    await record(h.admin, 'POST', '/api/hosts', { name: 'bad', repository: { url: `rest:https://u:${REPO_PASSWORD}@h/r` } });
    await record(h.admin, 'POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: [], pre_hook: HOOK } });
    await record(h.admin, 'POST', '/api/users', { username: 'x y', password: USER_PASSWORD, role: 'root' });
    agent.send(JSON.stringify({ type: 'log.stream', job_id: run.body.job.id, seq: 'x', payload: REPO_PASSWORD }));
    seen.push(JSON.stringify(await agent.next('error')));
    await new Promise((r) => setTimeout(r, 200));
    // Every readable API surface.
    for (const p of ['/api/hosts', `/api/hosts/${hostId}`, `/api/hosts/${hostId}/repo`, `/api/hosts/${hostId}/schedules`, '/api/jobs', `/api/jobs/${run.body.job.id}`, '/api/repos', '/api/audit?limit=500', '/api/users', '/api/fleet/summary', '/api/openapi.json', '/metrics']) {
      const r = await record(h.admin, 'GET', p);
      expect(r.status, p).toBe(200);
    }
    await agent.close();
    await h.server.close();
    const db = await databaseText(h);
    const surfaces = { logs: h.logs(), api: seen.join('\n'), db };
    const leaks: string[] = [];
    for (const [name, secret] of Object.entries({ REPO_PASSWORD, REST_PASSWORD, HOOK: 'HOOK-MARKER-99', USER_PASSWORD, ADMIN_PASSWORD, token, bearer })) {
      for (const [where, text] of Object.entries(surfaces)) if (text.includes(secret)) leaks.push(`${name} in ${where}`);
    }
    expect(leaks).toEqual([]);
    expect(surfaces.api).toContain('"has_pre_hook":false'); // sanity: the surfaces were really captured
    expect(surfaces.api).toContain('password_changed');
    expect(surfaces.logs.length).toBeGreaterThan(1000);
  });
});
