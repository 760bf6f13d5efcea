import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDocker, postgresImage, runPostgresContainer, startDockerEngine } from '@restic-manager/testkit';
import type { DockerEngine } from '@restic-manager/testkit';
import type { LocalStack } from './local-stack.js';
import { eventually, localStackTools, startLocalStack } from './local-stack.js';
import { sampleArgv } from './agent-harness.js';

/*
 * Docker end to end: a private dockerd from the test kit (own socket, --bridge=none), a
 * PostgreSQL container (--network none) from an image imported offline; the real agent finds it
 * through the Engine API (databases.report), dumps it with `docker exec pg_dump` into restic with
 * the password read from the container's environment (`password_env`), and the server's
 * POST /api/hosts/:id/restore/database streams the dump back in through `docker exec psql`. The
 * password shows in no argv, API answer, job log or audit entry.
 */
const docker = findDocker();
const missing = [...localStackTools, ...(docker.ok ? [] : [docker.reason])];
if (missing.length) console.warn(`skipping Docker e2e: ${missing.join('; ')}`);

const PG_PW = 'e2e-container-secret-95fa';

describe.skipIf(missing.length > 0)('Docker: discovery, docker exec dump and restore through the real server and agent', { timeout: 300_000 }, () => {
  let s: LocalStack | null = null;
  let dk: DockerEngine | null = null;
  let skipReason = '';
  const texts: string[] = [];
  const saved = { host: process.env.DOCKER_HOST, socket: process.env.RM_AGENT_DOCKER_SOCKET };
  const api = async (method: string, p: string, body?: unknown) => {
    const r = await s!.api.req(method, p, body);
    texts.push(JSON.stringify(r.body));
    return r;
  };
  const psql = (sql: string, db: string): string => {
    const r = spawnSync('docker', ['-H', dk!.host, 'exec', '-e', 'PGPASSWORD', 'shop-db', 'psql', '-h', '127.0.0.1', '-U', 'shop', '-d', db, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], { encoding: 'utf8', env: { ...process.env, PGPASSWORD: PG_PW } });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    const started = await startDockerEngine();
    if (!started.ok) {
      skipReason = started.reason;
      return console.warn(`skipping Docker e2e: ${skipReason}`);
    }
    dk = started.value;
    const img = await postgresImage(dk);
    if (!img.ok) {
      skipReason = img.reason;
      return console.warn(`skipping Docker e2e: ${skipReason}`);
    }
    await runPostgresContainer(dk, 'shop-db', { POSTGRES_USER: 'shop', POSTGRES_PASSWORD: PG_PW, POSTGRES_DB: 'shop' });
    psql("CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 40000) g", 'shop');
    // A container with a named volume: discovery offers its host path as a backup path.
    dk.docker(['tag', img.value.image, 'internal/web:1']);
    dk.docker(['run', '-d', '--network', 'none', '--name', 'web', '--label', 'rm-e2e.stop=yes', '--stop-timeout', '1', '--entrypoint', '/bin/sleep', '-v', 'uploads:/srv/uploads', 'internal/web:1', 'infinity']);
    // The agent (started below, inheriting this environment) finds the engine through DOCKER_HOST.
    process.env.DOCKER_HOST = dk.host;
    delete process.env.RM_AGENT_DOCKER_SOCKET;
    s = await startLocalStack();
  }, 600_000);
  afterAll(async () => {
    await s?.close();
    await dk?.stop();
    for (const [k, v] of [['DOCKER_HOST', saved.host], ['RM_AGENT_DOCKER_SOCKET', saved.socket]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }, 120_000);
  const ready = (ctx: { skip: (note?: string) => void }): void => {
    if (!s || skipReason) ctx.skip(skipReason || 'no Docker engine');
  };

  it('the agent reports the container found through the Engine API, with the name of its password variable only', async (ctx) => {
    ready(ctx);
    const r = await eventually(async () => {
      const x = await api('GET', `/api/hosts/${s!.hostId}/databases`);
      return x.body.discovered_at ? x : null;
    }, 60_000, 'a databases.report');
    expect(r.body.docker_error).toBeNull();
    expect(r.body.containers).toEqual([expect.objectContaining({ engine: 'postgres', container: 'shop-db', user: 'shop', database: 'shop', password_env: 'POSTGRES_PASSWORD' })]);
    expect(r.body.volumes).toEqual([{ container: 'web', type: 'volume', name: 'uploads', source: expect.stringMatching(/\/volumes\/uploads\/_data$/), destination: '/srv/uploads', read_only: false }]);
    // The schedule editor offers it next to Paths.
    const page = await s!.api.req('GET', `/hosts/${s!.hostId}/schedules`);
    expect(String(page.body)).toContain('volume <span class="mono">uploads</span> of container <span class="mono">web</span>');
  });

  let snapshot = '';
  it('a backup dumps the container through docker exec pg_dump into a tagged snapshot; the password from the container env is in no argv', async (ctx) => {
    ready(ctx);
    const sampler = sampleArgv(PG_PW, (cmd) => (/docker exec -i -e PGPASSWORD shop-db pg_dump /.test(cmd) ? ['docker exec pg_dump'] : []), 5);
    const job = await s!.waitJob(await s!.runJob('backup', { tags: ['e2e'], databases: [{ engine: 'postgres', container: 'shop-db', user: 'shop', password_env: 'POSTGRES_PASSWORD', database: 'shop' }] }), 180_000);
    const { seen, leaks } = sampler.stop();
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(leaks).toEqual([]);
    expect([...seen]).toEqual(['docker exec pg_dump']);
    snapshot = (job.stats.databases as { snapshot_id: string }[])[0]!.snapshot_id;
    const snap = await eventually(async () => ((await api('GET', `/api/hosts/${s!.hostId}/snapshots?limit=200`)).body.items as { id: string; tags: string[]; paths: string[] }[]).find((x) => x.id.startsWith(snapshot)) ?? null, 60_000, 'the dump snapshot on the server');
    expect(snap.tags).toEqual(['e2e', 'db:postgres', 'db-name:shop', 'db-container:shop-db']);
    expect(snap.paths).toEqual(['/postgres/shop.sql']);
    texts.push(JSON.stringify((await api('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body));
  });

  it('stop_containers: a failing backup still starts every stopped container again, in reverse order, naming each and its downtime; a missing one warns', async (ctx) => {
    ready(ctx);
    const running = (name: string): string => dk!.docker(['inspect', '--format', '{{.State.Running}}', name]);
    const job = await s!.waitJob(await s!.runJob('backup', { paths: ['/nonexistent-rm-e2e-path'], stop_containers: ['web', 'gone-one', 'shop-db'] }), 180_000);
    expect(job.status).toBe('failed');
    const logs = JSON.stringify((await api('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body);
    const order = ['stopped container web', 'warning: cannot stop container gone-one', 'stopped container shop-db', 'started container shop-db again (down ', 'started container web again (down '].map((t) => logs.indexOf(t));
    expect(order.every((i) => i >= 0), logs.slice(0, 3000)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(running('web')).toBe('true');
    expect(running('shop-db')).toBe('true');
    // PostgreSQL is back before the next test uses it.
    await eventually(async () => dk!.tryDocker(['exec', 'shop-db', 'pg_isready', '-q', '-h', '/var/run/postgresql']).status === 0 || null, 60_000, 'postgres back up');
  });

  it('stop_containers by label through the real server and agent: the labelled container is stopped and started again; a selector matching nothing warns', async (ctx) => {
    ready(ctx);
    const running = (name: string): string => dk!.docker(['inspect', '--format', '{{.State.Running}}', name]);
    const job = await s!.waitJob(await s!.runJob('backup', { paths: ['/nonexistent-rm-e2e-path'], stop_containers: ['label:rm-e2e.stop=yes', 'label:rm-e2e.nothing'] }), 180_000);
    expect(job.status).toBe('failed');
    const logs = JSON.stringify((await api('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body);
    const order = ['label rm-e2e.stop=yes selects web (by name)', 'warning: no running container has label rm-e2e.nothing; going on', 'stopped container web', 'started container web again (down '].map((t) => logs.indexOf(t));
    expect(order.every((i) => i >= 0), logs.slice(0, 3000)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(logs).not.toContain('stopped container shop-db');
    expect(running('web')).toBe('true');
    expect(running('shop-db')).toBe('true');
  });

  it('a backup schedule stores stop_containers (API and schedule page); other kinds refuse them', async (ctx) => {
    ready(ctx);
    const r = await api('POST', `/api/hosts/${s!.hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', enabled: false, paths: ['/srv'], stop_containers: ['web', 'label:rm-e2e.stop=yes'] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.stop_containers).toEqual(['web', 'label:rm-e2e.stop=yes']);
    const page = await s!.api.req('GET', `/hosts/${s!.hostId}/schedules?edit=${r.body.id as string}`);
    expect(String(page.body)).toContain('value="web, label:rm-e2e.stop=yes"');
    const bad = await api('POST', `/api/hosts/${s!.hostId}/schedules`, { kind: 'check', cron_expr: '0 4 * * *', stop_containers: ['web'] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('backup schedules only');
  });

  it('POST /restore/database streams the dump back into a new database in the container through docker exec psql', async (ctx) => {
    ready(ctx);
    expect(snapshot).not.toBe('');
    const sampler = sampleArgv(PG_PW, (cmd) => (/docker exec -i -e PGPASSWORD shop-db psql /.test(cmd) ? ['docker exec psql'] : []), 5);
    const r = await api('POST', `/api/hosts/${s!.hostId}/restore/database`, { snapshot_id: snapshot.slice(0, 8), connection: { container: 'shop-db', user: 'shop', password_env: 'POSTGRES_PASSWORD' }, database: 'shop_back', create: true });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await s!.waitJob(r.body.job.id as string, 180_000);
    const { seen, leaks } = sampler.stop();
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(leaks).toEqual([]);
    expect([...seen]).toEqual(['docker exec psql']);
    const q = "SELECT count(*), md5(string_agg(item, ',' ORDER BY id)) FROM orders";
    expect(psql(q, 'shop_back')).toBe(psql(q, 'shop'));
    texts.push(JSON.stringify((await api('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body));
    texts.push(JSON.stringify((await api('GET', '/api/audit?limit=200')).body));
    expect(texts.filter((t) => t.includes(PG_PW))).toEqual([]);
  });
});
