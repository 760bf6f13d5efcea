import { describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { answerLog } from './helpers/answers.js';
import { useConnectedAgent } from './helpers/connected-agent.js';
import { leaksOf, useHarness } from './helpers/harness.js';
import { DatabasesFieldset } from '../src/web/pages/schedule-databases.js';

/*
 * Database dumps on schedules and run-now (docs/databases.md): the password is sealed at rest,
 * travels only to the agent (schedule.set, command.run), and never shows in API responses, the
 * audit log, the server log or the database file. Edits without a password keep the stored one.
 */
describe('database targets on the server', () => {
  const PW = 'db-pw-MARKER-31d7e0';
  const h = useHarness();
  const host = useConnectedAgent(h, 'db-host', { url: '/srv/repo', password: 'repo-password-123456' }, { features: ['databases'] });
  const { seen, req } = answerLog(() => h.admin);
  const db = { engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'backup', password: PW, database: 'app' };
  it('the server says in its hello that it takes database reports', () => {
    expect(host.hello).toMatchObject({ databases_report: true });
  });
  type Spec = { id: string; databases?: Record<string, unknown>[] };
  let lastVersion = -1;
  /** The next schedule.set newer than the last one seen (the hello's own set comes first). */
  const nextSet = async (id: string): Promise<Spec | undefined> => {
    for (let i = 0; i < 10; i++) {
      const f = (await host.agent.next('schedule.set')) as unknown as { schedule_version: number; schedules: Spec[] };
      if (f.schedule_version <= lastVersion) continue;
      lastVersion = f.schedule_version;
      const s = f.schedules.find((x) => x.id === id);
      if (s) return s;
    }
    return undefined;
  };

  it('a backup schedule with only databases is accepted; the API shows has_password, the agent gets the password', async () => {
    const r = await req('POST', `/api/hosts/${host.hostId}/schedules`, { kind: 'backup', cron_expr: '@daily', databases: [db, { engine: 'mariadb', all: true }] });
    expect(r.status, r.text).toBe(201);
    expect(r.body.databases).toEqual([
      { engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'backup', database: 'app', has_password: true },
      { engine: 'mariadb', all: true, has_password: false },
    ]);
    expect(r.text).not.toContain(PW);
    const spec = await nextSet(r.body.id as string);
    expect(spec?.databases).toEqual([db, { engine: 'mariadb', all: true }]);

    // An edit that leaves the password out (the form never shows it) keeps it.
    const u = await req('PUT', `/api/schedules/${r.body.id as string}`, { kind: 'backup', cron_expr: '@hourly', databases: [{ ...db, password: undefined }] });
    expect(u.status, u.text).toBe(200);
    expect(u.body.databases[0].has_password).toBe(true);
    expect((await nextSet(r.body.id as string))?.databases?.[0]?.password).toBe(PW);

    // Pointing the entry at another user drops the stored password rather than reusing it.
    const v = await req('PUT', `/api/schedules/${r.body.id as string}`, { kind: 'backup', cron_expr: '@hourly', databases: [{ ...db, user: 'other', password: undefined }] });
    expect(v.body.databases[0].has_password).toBe(false);
    expect((await nextSet(r.body.id as string))?.databases?.[0]).not.toHaveProperty('password');

    const list = await req('GET', `/api/hosts/${host.hostId}/schedules`);
    expect(list.status).toBe(200);
  });

  it('refuses databases on other kinds and a backup with neither paths nor databases, naming the field', async () => {
    const c = await req('POST', `/api/hosts/${host.hostId}/schedules`, { kind: 'check', cron_expr: '@daily', databases: [db] });
    expect(c.status).toBe(400);
    expect(c.body.error.fields).toMatchObject({ databases: 'backup schedules only' });
    const e = await req('POST', `/api/hosts/${host.hostId}/schedules`, { kind: 'backup', cron_expr: '@daily' });
    expect(e.status).toBe(400);
    const both = await req('POST', `/api/hosts/${host.hostId}/schedules`, { kind: 'backup', cron_expr: '@daily', databases: [{ ...db, all: true }] });
    expect(both.status).toBe(400);
    expect(both.text).toContain('databases.0');
  });

  it('run-now with databases sends the password to the agent only; the audit entry says has_password', async () => {
    const r = await req('POST', `/api/hosts/${host.hostId}/jobs`, { kind: 'backup', args: { databases: [db] } });
    expect(r.status, r.text).toBe(202);
    expect(await host.agent.next('command.run')).toMatchObject({ args: { databases: [db] } });
    const audit = await req('GET', '/api/audit?limit=200');
    expect(audit.text).toContain('"has_password":true');
    await req('GET', `/api/jobs/${r.body.job.id as string}`);
    await req('GET', '/api/openapi.json');
  });

  it('an agent that did not announce databases: the API refuses them (409), and existing ones go to it disabled', async () => {
    const add = await req('POST', '/api/hosts', { name: 'old-host', repository: { url: '/srv/old', password: 'repo-password-654321' } });
    const enr = await FakeAgent.enroll(h.url, add.body.token as string, 'old-host');
    // Created before the agent ever connected: accepted (nothing is known about it yet).
    const early = await req('POST', `/api/hosts/${enr.host_id}/schedules`, { kind: 'backup', cron_expr: '@daily', paths: ['/etc'], databases: [db] });
    expect(early.status, early.text).toBe(201);
    const old = new FakeAgent({ url: h.url, bearer: enr.bearer_token });
    try {
      await old.connect();
      const set = (await old.next('schedule.set')) as unknown as { schedules: (Spec & { enabled: boolean })[] };
      const spec = set.schedules.find((x) => x.id === early.body.id);
      expect(spec).toMatchObject({ enabled: false, paths: ['/etc'] });
      expect(spec).not.toHaveProperty('databases');
      const r = await req('POST', `/api/hosts/${enr.host_id}/schedules`, { kind: 'backup', cron_expr: '@daily', databases: [db] });
      expect(r.status).toBe(409);
      expect(r.body.error.message).toBe('the agent on old-host (version 0.0.0-fake) predates database dumps: upgrade the agent, then add databases');
      const run = await req('POST', `/api/hosts/${enr.host_id}/jobs`, { kind: 'backup', args: { databases: [db] } });
      expect(run.status).toBe(409);
      const plain = await req('POST', `/api/hosts/${enr.host_id}/schedules`, { kind: 'backup', cron_expr: '@daily', paths: ['/srv'] });
      expect(plain.status).toBe(201);
      // stop_containers: stored, but an agent without the feature gets the schedule disabled and without them.
      const stops = await req('POST', `/api/hosts/${enr.host_id}/schedules`, { kind: 'backup', cron_expr: '@daily', paths: ['/srv'], stop_containers: ['app'] });
      expect(stops.status, stops.text).toBe(201);
      let pushed: (Spec & { enabled: boolean }) | undefined;
      for (let i = 0; i < 5 && !pushed; i++) pushed = ((await old.next('schedule.set')) as unknown as { schedules: (Spec & { enabled: boolean })[] }).schedules.find((x) => x.id === stops.body.id);
      expect(pushed).toMatchObject({ enabled: false, paths: ['/srv'] });
      expect(pushed).not.toHaveProperty('stop_containers');
    } finally {
      await old.close();
    }
  });

  it('stores the agent\'s databases.report (latest wins) and serves it at /api/hosts/:id/databases', async () => {
    const empty = await req('GET', `/api/hosts/${host.hostId}/databases`);
    expect(empty.body).toEqual({ host_id: host.hostId, discovered_at: null, local: [], containers: [], docker_error: null, volumes: [] });
    const container = { engine: 'postgres', container: 'shop-db-1', container_id: 'a'.repeat(64), image: 'postgres:16', user: 'shop', database: 'shop', password_env: 'POSTGRES_PASSWORD', published_port: null };
    host.agent.send(JSON.stringify({ type: 'databases.report', discovered_at: '2026-12-01T20:00:00.000Z', local: [], containers: [container], docker_error: null }));
    const volume = { container: 'shop-web-1', type: 'volume', name: 'uploads', source: '/var/lib/docker/volumes/uploads/_data', destination: '/srv/uploads', read_only: false };
    host.agent.send(JSON.stringify({ type: 'databases.report', discovered_at: '2026-12-01T20:01:00.000Z', local: [{ engine: 'mariadb', via: '/run/mysqld/mysqld.sock', host: '/run/mysqld/mysqld.sock', port: 3306 }], containers: [container], docker_error: null, volumes: [volume] }));
    // The first report (an older agent's shape) has no volumes; the latest one wins, volumes included.
    const want = { host_id: host.hostId, discovered_at: '2026-12-01T20:01:00.000Z', local: [{ engine: 'mariadb', via: '/run/mysqld/mysqld.sock', host: '/run/mysqld/mysqld.sock', port: 3306 }], containers: [container], docker_error: null, volumes: [volume] };
    for (let i = 0; i < 50; i++) {
      const r = await h.admin.req('GET', `/api/hosts/${host.hostId}/databases`);
      if (r.body.discovered_at === want.discovered_at) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect((await req('GET', `/api/hosts/${host.hostId}/databases`)).body).toEqual(want);
    // No Docker engine: one line in the schedule editor's Databases section.
    const html = String(await (DatabasesFieldset({ databases: [], discovered: { discovered_at: '2026-12-01T20:02:00.000Z', local: [], containers: [], docker_error: '/var/run/docker.sock does not exist (no Docker engine here)' } }) as unknown as Promise<string> | string));
    expect(html).toContain('No Docker containers looked at: /var/run/docker.sock does not exist (no Docker engine here)');
  });

  it('the password is nowhere in API responses, the server log or the database file', async () => {
    await new Promise((r) => setTimeout(r, 200));
    expect(await leaksOf(h, PW, seen)).toEqual([]);
    expect(seen.join('\n')).toContain('"has_password":true'); // sanity: the surfaces were captured
  });
});
