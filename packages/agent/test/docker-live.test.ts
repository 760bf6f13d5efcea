import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import { DatabaseTarget, DbRestoreArgs } from '@restic-manager/protocol';
import { findDocker, POSTGRES_IMAGE, requireTool, runPostgresContainer } from '@restic-manager/testkit';
import { discoverDatabases } from '../src/dumps/discover.js';
import { runDumps } from '../src/dumps/run-dumps.js';
import { backupWithDumps } from '../src/dumps/backup-job.js';
import { runDbRestore } from '../src/dumps/restore-job.js';
import { stopContainers, sweepStoppedContainers } from '../src/jobs/container-stop.js';
import { resticKit, argvWhile, collector, type Snap } from './helpers/dump-kit.js';
import { useDockerBench } from './helpers/docker-bench.js';

/*
 * Docker for real: a private dockerd (testkit, --bridge=none, its own socket), a PostgreSQL image
 * imported from a Debian root built offline, containers with --network none. Discovery through
 * the Engine API, `docker exec` dumps into real restic with the password read from the
 * container's environment, and `docker exec` restores back into the container.
 */
const restic = requireTool('restic');
const docker = findDocker();
if (!restic.ok) console.warn(`skipping live Docker tests: ${restic.reason}`);
if (!docker.ok) console.warn(`skipping live Docker tests: ${docker.reason}`);

const REPO_PW = 'docker-live-repo-pw-3e1a';
const { resticJson } = resticKit(REPO_PW);
const PG_PW = 'shop-pg-secret-6b2d';
const engine = createEngine('restic');

describe.skipIf(!restic.ok || !docker.ok)('Docker, live: a private engine and a PostgreSQL container', () => {
  let conn: Connection;
  /** psql inside the container as its user (the password through -e, from this process's env). */
  const psql = (container: string, sql: string, db = 'shop'): string => {
    const r = spawnSync('docker', ['-H', b.dk!.host, 'exec', '-e', 'PGPASSWORD', container, 'psql', '-h', '127.0.0.1', '-U', 'shop', '-d', db, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], { encoding: 'utf8', env: { ...process.env, PGPASSWORD: PG_PW } });
    if (r.status !== 0) throw new Error(`psql in ${container}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const b = useDockerBench({
    prefix: 'rm-docker-live-', image: 'postgres', what: 'live Docker tests', restoreEnv: ['DOCKER_HOST'],
    setup: async (dk, tmp) => {
      conn = { repository: path.join(tmp.path, 'repo'), password: REPO_PW };
      expect((await engine.init(conn)).ok).toBe(true);
      await runPostgresContainer(dk, 'shop-db', { POSTGRES_USER: 'shop', POSTGRES_PASSWORD: PG_PW, POSTGRES_DB: 'shop' });
      // An image with no database name in it, declared by labels instead.
      dk.docker(['tag', POSTGRES_IMAGE, 'internal/ledger:3']);
      await runPostgresContainer(dk, 'ledger', { POSTGRES_USER: 'shop', POSTGRES_PASSWORD: PG_PW, LEDGER_PW: PG_PW, POSTGRES_DB: 'books' }, { 'restic-manager.engine': 'postgres', 'restic-manager.database': 'books', 'restic-manager.password-env': 'LEDGER_PW' }, 'internal/ledger:3');
      // A plain container (no database) with a named volume and a read-only bind mount.
      fs.mkdirSync(path.join(tmp.path, 'site'));
      dk.docker(['volume', 'create', 'uploads']);
      dk.docker(['tag', POSTGRES_IMAGE, 'internal/web:1']);
      dk.docker(['run', '-d', '--network', 'none', '--name', 'web', '--user', '0', '--stop-timeout', '1', '--entrypoint', '/bin/sleep', '-v', 'uploads:/srv/uploads', '-v', `${path.join(tmp.path, 'site')}:/srv/site:ro`, 'internal/web:1', 'infinity']);
      psql('shop-db', "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT i, 'item-' || i FROM generate_series(1, 1000) i;");
    },
  });

  it('discovery finds both containers through the Engine API (image, labels, env) and never carries a password', async (ctx) => {
    b.ready(ctx);
    const d = await discoverDatabases({ dockerSocket: b.dk!.socket, pgPorts: [], mysqlPorts: [], pgSocketDirs: [], mysqlSockets: [] });
    expect(d.docker_error).toBeNull();
    const byName = Object.fromEntries(d.containers.map((c) => [c.container, c]));
    expect(byName['shop-db']).toMatchObject({ engine: 'postgres', image: POSTGRES_IMAGE, user: 'shop', database: 'shop', password_env: 'POSTGRES_PASSWORD', published_port: null });
    expect(byName.ledger).toMatchObject({ engine: 'postgres', image: 'internal/ledger:3', user: 'shop', database: 'books', password_env: 'LEDGER_PW' });
    expect(JSON.stringify(d)).not.toContain(PG_PW);
    // DOCKER_HOST (unix://) is where discovery looks when no socket is given.
    const viaEnv = await discoverDatabases({ pgPorts: [], mysqlPorts: [], pgSocketDirs: [], mysqlSockets: [] });
    expect(viaEnv.containers.map((c) => c.container).sort()).toEqual(['ledger', 'shop-db']);
    // An engine that is not there: one line, no containers.
    const none = await discoverDatabases({ dockerSocket: path.join(b.tmp.path, 'no.sock'), pgPorts: [], mysqlPorts: [], pgSocketDirs: [], mysqlSockets: [] });
    expect(none).toMatchObject({ containers: [], volumes: [], docker_error: `${path.join(b.tmp.path, 'no.sock')} does not exist (no Docker engine here)` });
  }, 60_000);

  it('volume discovery lists the named volumes and bind mounts of running containers as host paths', async (ctx) => {
    b.ready(ctx);
    const d = await discoverDatabases({ dockerSocket: b.dk!.socket, pgPorts: [], mysqlPorts: [], pgSocketDirs: [], mysqlSockets: [] });
    const web = d.volumes.filter((v) => v.container === 'web').sort((a, b) => a.destination.localeCompare(b.destination));
    expect(web).toEqual([
      { container: 'web', type: 'bind', name: null, source: path.join(b.tmp.path, 'site'), destination: '/srv/site', read_only: true },
      { container: 'web', type: 'volume', name: 'uploads', source: expect.stringMatching(/\/volumes\/uploads\/_data$/), destination: '/srv/uploads', read_only: false },
    ]);
    // The volume's source is a real directory on this host: a backup path.
    b.dk!.docker(['exec', 'web', 'sh', '-c', 'echo hello > /srv/uploads/a.txt']);
    expect(fs.readFileSync(path.join(web[1]!.source, 'a.txt'), 'utf8')).toBe('hello\n');
    // The database containers' own data directories (anonymous volumes of no image here) are not invented.
    expect(d.volumes.filter((v) => v.container === 'shop-db')).toEqual([]);
  }, 60_000);

  it('containers left stopped by a killed agent are started by the sweep; stop order and reverse start order with downtime', async (ctx) => {
    b.ready(ctx);
    const file = path.join(b.tmp.path, 'stopped-containers.json');
    const running = (name: string): string => b.dk!.docker(['inspect', '--format', '{{.State.Running}}', name]);
    const lines: string[] = [];
    const held = await stopContainers(['web', 'nowhere'], file, (t) => lines.push(t));
    expect(running('web')).toBe('false');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(['web']);
    expect(lines[1]).toMatch(/^warning: cannot stop container nowhere \(.*No such container: nowhere\); going on without it$/);
    // The agent "dies" here: held.startAll() never runs. The next start sweeps.
    void held;
    const swept = await sweepStoppedContainers(file, (t) => lines.push(t));
    expect(swept).toEqual(['web']);
    expect(running('web')).toBe('true');
    expect(fs.existsSync(file)).toBe(false);
    expect(lines.at(-1)).toBe('started container web, left stopped by a backup the agent did not finish');
  }, 120_000);

  it('docker exec pg_dump streams into restic with the password read from the container env (never argv, never the log)', async (ctx) => {
    b.ready(ctx);
    const c = collector();
    const t = DatabaseTarget.parse({ engine: 'postgres', container: 'shop-db', user: 'shop', password_env: 'POSTGRES_PASSWORD', database: 'shop' });
    const { value: res, argv } = await argvWhile(() => runDumps(engine, conn, [t], c.o));
    expect(res, c.lines.join('\n')).toMatchObject([{ ok: true, engine: 'postgres', database: 'shop' }]);
    expect(argv.some((a) => a.includes('docker exec -i -e PGPASSWORD shop-db pg_dump'))).toBe(true);
    expect(argv.filter((a) => a.includes(PG_PW))).toEqual([]);
    expect(c.lines.join('\n')).not.toContain(PG_PW);
    const id = res[0]?.ok ? res[0].snapshotId : '-';
    const snap = resticJson<Snap[]>(conn, ['snapshots']).find((s) => s.id.startsWith(id));
    expect(snap?.paths).toEqual(['/postgres/shop.sql']);
    expect(snap?.tags).toEqual(expect.arrayContaining(['db:postgres', 'db-name:shop', 'db-container:shop-db']));
    const sql = spawnSync('restic', ['dump', id, '/postgres/shop.sql'], { env: { ...process.env, RESTIC_REPOSITORY: conn.repository, RESTIC_PASSWORD: REPO_PW }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout;
    expect(sql).toContain('CREATE TABLE public.orders');
    expect(sql).toContain('1000\titem-1000');
  }, 120_000);

  it('the labelled container dumps with its label-declared password variable', async (ctx) => {
    b.ready(ctx);
    const res = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'postgres', container: 'ledger', user: 'shop', password_env: 'LEDGER_PW', database: 'books' })], collector().o);
    expect(res, JSON.stringify(res)).toMatchObject([{ ok: true, database: 'books' }]);
  }, 120_000);

  it('a wrong password fails naming the container and saves no snapshot; a missing variable or container is named too', async (ctx) => {
    b.ready(ctx);
    const before = resticJson<Snap[]>(conn, ['snapshots']).length;
    const c = collector();
    const bad = DatabaseTarget.parse({ engine: 'postgres', container: 'shop-db', user: 'shop', password: 'wrong-pw-d00d', database: 'shop' });
    const r = await backupWithDumps(engine, conn, { paths: [], excludes: [], tags: [], databases: [bad] }, c.o.opts);
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.error).toMatch(/^postgres database shop in container shop-db: pg_dump failed: .*password authentication failed for user "shop"/);
    const noVar = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'postgres', container: 'shop-db', user: 'shop', password_env: 'NOPE_PW', database: 'shop' })], collector().o);
    expect(noVar[0]?.ok ? '' : noVar[0]?.error).toBe('container shop-db has no variable NOPE_PW');
    const gone = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'postgres', container: 'gone-db', user: 'shop', password_env: 'POSTGRES_PASSWORD', database: 'shop' })], collector().o);
    expect(gone[0]?.ok ? '' : gone[0]?.error).toBe('container gone-db does not exist');
    expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
  }, 120_000);

  it('db_restore streams the dump back through docker exec psql into a new database in the container', async (ctx) => {
    b.ready(ctx);
    const snaps = resticJson<Snap[]>(conn, ['snapshots']).filter((s) => s.paths[0] === '/postgres/shop.sql');
    const args = DbRestoreArgs.parse({ snapshot_id: snaps[0]!.id, file: '/postgres/shop.sql', connection: { engine: 'postgres', container: 'shop-db', user: 'shop', password_env: 'POSTGRES_PASSWORD' }, database: 'shop_copy', create: true });
    const lines: string[] = [];
    const { value: out, argv } = await argvWhile(() => runDbRestore(engine, conn, args, { onLine: (l) => lines.push(l.line) }));
    expect(out, lines.join('\n')).toMatchObject({ status: 'succeeded' });
    expect(argv.some((a) => a.includes('docker exec -i -e PGPASSWORD shop-db psql'))).toBe(true);
    expect(argv.filter((a) => a.includes(PG_PW))).toEqual([]);
    expect(lines.join('\n')).not.toContain(PG_PW);
    expect(psql('shop-db', 'SELECT count(*), max(item) FROM orders', 'shop_copy')).toBe('1000|item-999');
  }, 120_000);

  it('a container killed mid-dump fails the dump and leaves no snapshot', async (ctx) => {
    b.ready(ctx);
    psql('shop-db', "CREATE TABLE big AS SELECT i, repeat(md5(i::text), 20) AS pad FROM generate_series(1, 150000) i;");
    const before = resticJson<Snap[]>(conn, ['snapshots']).length;
    const c = collector();
    const t = DatabaseTarget.parse({ engine: 'postgres', container: 'shop-db', user: 'shop', password_env: 'POSTGRES_PASSWORD', database: 'shop' });
    const dumping = runDumps(engine, conn, [t], c.o);
    // Kill the container once pg_dump is connected and reading (seen in pg_stat_activity).
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      let active = '';
      try {
        active = psql('shop-db', "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'");
      } catch {
        // not reachable this instant
      }
      if (active !== '' && active !== '0') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    b.dk!.docker(['kill', 'shop-db']);
    const res = await dumping;
    expect(res[0]).toMatchObject({ ok: false, database: 'shop' });
    expect(res[0]?.ok ? '' : res[0]?.error).toMatch(/^pg_dump failed: /);
    expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
  }, 180_000);
});
