import { beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { answerLog } from './helpers/answers.js';
import { useConnectedAgent } from './helpers/connected-agent.js';
import { Api, eventually, leaksOf, useHarness } from './helpers/harness.js';

/*
 * POST /api/hosts/:id/restore/database (docs/databases.md "Restoring a dump"): only a database
 * snapshot of this host is accepted (else 400 naming the field); the job's arguments reach the
 * agent with the password, which is sealed at rest and absent from API answers, the audit log,
 * the server log and the database file. Viewers may not restore; an older agent gets 409.
 */
describe('database restore jobs on the server', () => {
  const PW = 'dbr-pw-MARKER-8a20c4';
  const h = useHarness();
  const host = useConnectedAgent(h, 'dbr-host', { url: '/srv/repo', password: 'repo-password-123456' }, { features: ['databases', 'db_restore'], configured: false });
  const { seen, req } = answerLog(() => h.admin);
  const PG = 'a1'.repeat(32);
  const MARIA = 'b2'.repeat(32);
  const FILES = 'c3'.repeat(32);
  const GLOBALS = 'd4'.repeat(32);
  beforeAll(async () => {
    const snap = (id: string, paths: string[], tags: string[]) => ({ id, short_id: id.slice(0, 8), time: '2026-12-01T00:00:00Z', hostname: 'dbr-host', paths, tags });
    host.agent.send({ type: 'snapshots.report', snapshots: [
      snap(PG, ['/postgres/app.sql'], ['nightly', 'db:postgres', 'db-name:app']),
      snap(MARIA, ['/mariadb/shop.sql'], ['db:mariadb', 'db-name:shop']),
      snap(FILES, ['/etc'], ['nightly']),
      snap(GLOBALS, ['/postgres/_globals.sql'], ['db:postgres', 'db-name:_globals']),
    ] });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${host.hostId}/snapshots`)).body.total === 4);
  });
  const conn = { host: '127.0.0.1', port: 5432, user: 'postgres', password: PW };

  it('queues a db_restore job: the agent gets the dump file, the connection and the password; the original name by default', async () => {
    const r = await req('POST', `/api/hosts/${host.hostId}/restore/database`, { snapshot_id: PG.slice(0, 8), connection: conn });
    expect(r.status, r.text).toBe(202);
    expect(r.body.job.kind).toBe('db_restore');
    expect(r.text).not.toContain(PW);
    expect(await host.agent.next('command.run')).toMatchObject({
      kind: 'db_restore', args: { snapshot_id: PG, file: '/postgres/app.sql', connection: { engine: 'postgres', ...conn }, database: 'app', create: false },
    });
    const m = await req('POST', `/api/hosts/${host.hostId}/restore/database`, { snapshot_id: MARIA, connection: { engine: 'mariadb', host: '/run/mysqld/mysqld.sock' }, database: 'shop_copy' });
    expect(m.status, m.text).toBe(202);
    expect(await host.agent.next('command.run')).toMatchObject({ args: { file: '/mariadb/shop.sql', database: 'shop_copy', connection: { engine: 'mariadb' } } });
    const job = await req('GET', `/api/jobs/${r.body.job.id as string}`);
    expect(job.body.kind).toBe('db_restore');
  });

  it('the audit entry is job.restore with has_password and without the password', async () => {
    const audit = await req('GET', '/api/audit?action=job.restore&limit=50');
    const entry = (audit.body.items as { payload: Record<string, unknown> }[]).find((i) => i.payload.kind === 'db_restore' && i.payload.snapshot_id === PG);
    expect(entry?.payload).toMatchObject({ kind: 'db_restore', snapshot_id: PG, source_database: 'app', args: { connection: { engine: 'postgres', host: '127.0.0.1', has_password: true }, database: 'app' } });
    expect(audit.text).not.toContain(PW);
  });

  it('refuses what is not a database snapshot of this host, naming the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ snapshot_id: FILES }, 'snapshot_id', /is not a database dump/],
      [{ snapshot_id: 'ffffffff' }, 'snapshot_id', /is not among the snapshots of host dbr-host/],
      [{ snapshot_id: GLOBALS }, 'snapshot_id', /roles and tablespaces/],
      [{ snapshot_id: PG, connection: { engine: 'mariadb' } }, 'connection.engine', /is a postgres dump/],
      [{ snapshot_id: MARIA, create: true }, 'create', /postgres only/],
      [{ snapshot_id: PG, database: 'a/b' }, 'database', /database name/],
      [{ snapshot_id: PG, connection: { container: 'c1', run_as: 'postgres' } }, 'connection.run_as', /container/],
    ];
    for (const [body, field, message] of cases) {
      const r = await req('POST', `/api/hosts/${host.hostId}/restore/database`, body);
      expect(r.status, `${JSON.stringify(body)} -> ${r.text}`).toBe(400);
      expect(Object.keys(r.body.error.fields as object)).toContain(field);
      expect(String((r.body.error.fields as Record<string, string>)[field])).toMatch(message);
    }
  });

  it('viewers may not restore a database; operators may', async () => {
    for (const role of ['viewer', 'operator'] as const) await h.admin.req('POST', '/api/users', { username: `dbr-${role}`, password: `${role}-password-123`, role });
    const viewer = new Api(h.url);
    await viewer.login('dbr-viewer', 'viewer-password-123');
    expect((await req('POST', `/api/hosts/${host.hostId}/restore/database`, { snapshot_id: PG }, viewer)).status).toBe(403);
    const operator = new Api(h.url);
    await operator.login('dbr-operator', 'operator-password-123');
    expect((await req('POST', `/api/hosts/${host.hostId}/restore/database`, { snapshot_id: PG, connection: { run_as: 'postgres', host: '/var/run/postgresql' } }, operator)).status).toBe(202);
    await host.agent.next('command.run');
  });

  it('an agent that did not announce db_restore gets 409', async () => {
    const add = await req('POST', '/api/hosts', { name: 'old-dbr', repository: { url: '/srv/old', password: 'repo-password-654321' } });
    const enr = await FakeAgent.enroll(h.url, add.body.token as string, 'old-dbr');
    const old = new FakeAgent({ url: h.url, bearer: enr.bearer_token, features: ['databases'] });
    try {
      await old.connect();
      const r = await req('POST', `/api/hosts/${enr.host_id}/restore/database`, { snapshot_id: PG });
      expect(r.status).toBe(409);
      expect(r.body.error.message).toBe('the agent on old-dbr (version 0.0.0-fake) predates database restores: upgrade the agent');
    } finally {
      await old.close();
    }
  });

  it('the password is nowhere in API responses, the server log or the database file', async () => {
    await new Promise((r) => setTimeout(r, 200));
    expect(await leaksOf(h, PW, seen)).toEqual([]);
    expect(seen.join('\n')).toContain('"has_password":true');
  });
});
