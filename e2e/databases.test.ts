import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMariadb, findPostgres, startMariadb, startPostgres } from '@restic-manager/testkit';
import type { DbServer } from '@restic-manager/testkit';
import type { LocalStack } from './local-stack.js';
import { ADMIN_PASSWORD } from './local-stack.js';
import { describeInChromium, useBrowser } from './browser-fixture.js';
import { sampleArgv } from './agent-harness.js';
import { startDockerFixture } from '../packages/agent/test/fixtures/docker-server.js';
import { PG_PASSWORD } from '../packages/agent/test/fixtures/docker-api.js';
import { eventually, LOCAL_REPO_PASSWORD, localStackTools, startLocalStack } from './local-stack.js';

/*
 * Database dumps end to end: run-now `backup` with `databases` → the real agent → real pg_dump
 * streaming into real restic --stdin → a tagged snapshot on the server → `restic dump` of it
 * restores into a fresh database with the same rows. The database password never shows in any
 * process's argv (sampled from /proc during the run), the agent log, the job log, the job API or
 * the audit log.
 */
const pg = findPostgres();
const missing = [...localStackTools, ...(pg.ok ? [] : [pg.reason])];
if (missing.length) console.warn(`skipping database dump e2e: ${missing.join('; ')}`);

/** Samples every process's argv until stopped; records which dump tools it saw and any leak. */
function sampleDumpArgv(secret: string): ReturnType<typeof sampleArgv> {
  return sampleArgv(secret, (cmd) => [
    ...(/(^|\/)pg_dump /.test(cmd) ? ['pg_dump'] : []),
    ...(/(^|\/)mariadb-dump /.test(cmd) ? ['mariadb-dump'] : []),
    ...(/restic .*\bbackup --json .*--stdin /.test(cmd) ? ['restic backup --stdin'] : []),
  ], 5);
}

describe.skipIf(missing.length > 0)('database dumps through the real agent, pg_dump and restic', { timeout: 240_000 }, () => {
  let s: LocalStack;
  let db: DbServer;
  let docker: Awaited<ReturnType<typeof startDockerFixture>> | null = null;
  const prevSocket = process.env.RM_AGENT_DOCKER_SOCKET;
  beforeAll(async () => {
    // The agent's discovery talks to a Docker API stand-in (no engine on this machine).
    const sock = path.join(os.tmpdir(), `rm-e2e-docker-${process.pid}.sock`);
    fs.rmSync(sock, { force: true });
    docker = await startDockerFixture(sock);
    process.env.RM_AGENT_DOCKER_SOCKET = sock;
    db = await startPostgres('e2e-db-secret-4c81d2');
    db.sql('CREATE DATABASE app');
    // Large enough (a few MB) that pg_dump runs long enough to be seen in /proc.
    db.sql("CREATE TABLE items (id int primary key, name text); INSERT INTO items SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 60000) g", 'app');
    s = await startLocalStack();
  }, 180_000);
  afterAll(async () => {
    await s?.close();
    await db?.stop();
    await docker?.close();
    if (prevSocket === undefined) delete process.env.RM_AGENT_DOCKER_SOCKET;
    else process.env.RM_AGENT_DOCKER_SOCKET = prevSocket;
  });

  it('the agent reports what discovery found (containers from the Docker API stand-in), without passwords', async () => {
    const r = await eventually(async () => {
      const x = await s.api.req('GET', `/api/hosts/${s.hostId}/databases`);
      return x.body.discovered_at ? x : null;
    }, 60_000, 'a databases.report');
    expect((r.body.containers as { container: string }[]).map((c) => c.container)).toEqual(['shop-db-1', 'wiki-mariadb', 'legacy-mysql']);
    expect(r.body.docker_error).toBeNull();
    expect(JSON.stringify(r.body)).not.toContain(PG_PASSWORD);
  });
  const target = (password: string) => ({ engine: 'postgres', host: '127.0.0.1', port: db.port, user: db.user, password, database: 'app' });
  const restic = (args: string[], input?: Buffer) =>
    spawnSync('restic', args, { env: { ...process.env, RESTIC_REPOSITORY: s.repoDir, RESTIC_PASSWORD: LOCAL_REPO_PASSWORD }, maxBuffer: 512 * 1024 * 1024, ...(input ? { input } : {}) });
  const snapshotCount = (): number => (JSON.parse(restic(['snapshots', '--json']).stdout.toString()) as unknown[]).length;

  it('dumps a database into a tagged snapshot that restores into a fresh database with the same rows', async () => {
    const sampler = sampleDumpArgv(db.password);
    const id = await s.runJob('backup', { tags: ['e2e'], databases: [target(db.password)] });
    const job = await s.waitJob(id, 180_000);
    const { seen, leaks } = sampler.stop();
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(leaks).toEqual([]);
    expect([...seen].sort()).toEqual(['pg_dump', 'restic backup --stdin']);
    const dbs = job.stats.databases as { database: string; snapshot_id: string }[];
    expect(dbs).toHaveLength(1);
    expect(dbs[0]?.database).toBe('app');

    const snap = await eventually(async () => {
      const r = await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots`);
      return (r.body.items as { id: string; short_id?: string; tags: string[]; paths: string[] }[]).find((x) => x.id.startsWith(dbs[0]!.snapshot_id)) ?? null;
    }, 60_000, 'the dump snapshot to be reported');
    expect(snap.tags).toEqual(['e2e', 'db:postgres', 'db-name:app']);
    expect(snap.paths).toEqual(['/postgres/app.sql']);

    const dump = restic(['dump', dbs[0]!.snapshot_id, '/postgres/app.sql']);
    expect(dump.status, dump.stderr.toString()).toBe(0);
    db.sql('CREATE DATABASE fresh');
    const load = spawnSync('psql', ['-h', '127.0.0.1', '-p', String(db.port), '-U', db.user, '-d', 'fresh', '-v', 'ON_ERROR_STOP=1', '-q'], { input: dump.stdout, env: { ...process.env, PGPASSWORD: db.password }, encoding: 'utf8' });
    expect(load.status, load.stderr).toBe(0);
    const q = 'SELECT count(*), sum(id), md5(string_agg(name, \',\' ORDER BY id)) FROM items';
    expect(db.sql(q, 'fresh')).toBe(db.sql(q, 'app'));
    expect(db.sql('SELECT count(*) FROM items', 'fresh')).toBe('60000');

    const logs = await s.api.req('GET', `/api/jobs/${id}/logs?limit=500`);
    const logText = JSON.stringify(logs.body);
    expect(logText).toContain('dumping postgres database app');
    expect(logText).not.toContain(db.password);
    expect(JSON.stringify((await s.api.req('GET', `/api/jobs/${id}`)).body)).not.toContain(db.password);
    const audit = await s.api.req('GET', '/api/audit?limit=100');
    expect(audit.status).toBe(200);
    const auditText = JSON.stringify(audit.body);
    expect(auditText).toContain('"has_password":true');
    expect(auditText).not.toContain(db.password);
    expect(s.agentLogs()).not.toContain(db.password);
  });

  it('a wrong database password fails the job with pg_dump\'s error and records no snapshot', async () => {
    const before = snapshotCount();
    const wrong = 'not-the-password-77e0';
    const job = await s.waitJob(await s.runJob('backup', { databases: [target(wrong)] }), 120_000);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^postgres database app: pg_dump failed: .*password authentication failed for user "postgres"/);
    expect(job.stats.databases).toEqual([{ engine: 'postgres', database: 'app', error: expect.stringContaining('password authentication failed') }]);
    expect(snapshotCount()).toBe(before);
    expect(JSON.stringify(job)).not.toContain(wrong);
    expect(s.agentLogs()).not.toContain(wrong);
  });

  const maria = findMariadb();
  it.skipIf(!maria.ok)('MariaDB: dumps with mariadb-dump into a snapshot that restores with the same rows, password never in argv', async () => {
    const m = await startMariadb('e2e-maria-secret-5d0a93');
    try {
      m.sql("CREATE DATABASE shop; USE shop; CREATE TABLE orders (id int primary key, note varchar(64)); INSERT INTO orders SELECT seq, CONCAT('order-', seq) FROM seq_1_to_40000;");
      const sampler = sampleDumpArgv(m.password);
      const job = await s.waitJob(await s.runJob('backup', { databases: [{ engine: 'mariadb', host: '127.0.0.1', port: m.port, user: m.user, password: m.password, database: 'shop' }] }), 180_000);
      const { seen, leaks } = sampler.stop();
      expect(job.status, JSON.stringify(job)).toBe('succeeded');
      expect(leaks).toEqual([]);
      expect(seen.has('mariadb-dump')).toBe(true);
      const id = (job.stats.databases as { snapshot_id: string }[])[0]!.snapshot_id;
      const want = m.sql('SELECT count(*), md5(group_concat(note ORDER BY id)) FROM shop.orders');
      const dump = restic(['dump', id, '/mariadb/shop.sql']);
      expect(dump.status, dump.stderr.toString()).toBe(0);
      m.sql('DROP DATABASE shop');
      const load = spawnSync('mariadb', ['--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', `-P${m.port}`, `-u${m.user}`], { input: dump.stdout, env: { ...process.env, MYSQL_PWD: m.password }, encoding: 'utf8' });
      expect(load.status, load.stderr).toBe(0);
      expect(m.sql('SELECT count(*), md5(group_concat(note ORDER BY id)) FROM shop.orders')).toBe(want);
      expect(s.agentLogs()).not.toContain(m.password);
    } finally {
      await m.stop();
    }
  });

  describeInChromium('host page "Run now" → "Dump a database" in Chromium', {}, () => {
    const fx = useBrowser(() => s.server.url);

    it('dumps only the database when the paths are cleared; a bad port is named next to its field', async () => {
      const { page, pageErrors } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
      // the schedule editor lists what the agent discovered
      await page.goto(`/hosts/${s.hostId}/schedules`);
      expect(await page.textContent('#discovered-databases')).toContain('postgres in container shop-db-1 (postgres:16-alpine), user shop, database shop, password in $POSTGRES_PASSWORD');
      await page.goto(`/hosts/${s.hostId}`);
      expect(await page.isVisible('#f-args\\.databases\\.0\\.engine')).toBe(false);
      await page.fill('#f-args\\.paths', '');
      await page.click('#run-databases summary');
      await page.selectOption('#f-args\\.databases\\.0\\.engine', 'postgres');
      await page.fill('#f-args\\.databases\\.0\\.database', 'app');
      await page.fill('#f-args\\.databases\\.0\\.host', '127.0.0.1');
      await page.fill('#f-args\\.databases\\.0\\.port', 'five');
      await page.fill('#f-args\\.databases\\.0\\.user', db.user);
      await page.fill('#f-args\\.databases\\.0\\.password', db.password);
      await page.click('#run-now');
      await expect.poll(() => page.isVisible('[data-field-error="args.databases.0.port"]')).toBe(true);
      await page.fill('#f-args\\.databases\\.0\\.port', String(db.port));
      await Promise.all([page.waitForURL(/\/jobs\/[^/]+$/), page.click('#run-now')]);
      const jobId = new URL(page.url()).pathname.split('/').pop() ?? '';
      const job = await s.waitJob(jobId, 180_000);
      expect(job.status, JSON.stringify(job)).toBe('succeeded');
      expect(job.stats.databases).toEqual([expect.objectContaining({ engine: 'postgres', database: 'app' })]);
      expect(job.stats).not.toHaveProperty('snapshotId'); // no path snapshot: the paths were cleared
      await expect.poll(() => page.textContent('main'), { timeout: 30_000 }).toContain('dumping postgres database app');
      await expect.poll(() => page.textContent('#job-databases'), { timeout: 30_000 }).toMatch(/^postgres app: snapshot [0-9a-f]{8} \(/);
      expect(await page.content()).not.toContain(db.password);
      expect(pageErrors).toEqual([]);
    });
  });

  it('refuses a database target with both database and all, naming the field', async () => {
    const r = await s.api.req('POST', `/api/hosts/${s.hostId}/jobs`, { kind: 'backup', args: { databases: [{ ...target('x'), all: true }] } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('args.databases.0');
    expect(JSON.stringify(r.body)).not.toContain('"x"');
  });
});
