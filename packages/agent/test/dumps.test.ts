import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import { findMariadb, findPostgres, requireTool, startMariadb, startPostgres } from '@restic-manager/testkit';
import type { DbServer, TempDir } from '@restic-manager/testkit';
import { dumpIntoRestic, runDumps } from '../src/dumps/run-dumps.js';
import type { DumpRunOptions } from '../src/dumps/run-dumps.js';
import { backupWithDumps } from '../src/dumps/backup-job.js';
import { initRepo, resticKit, type Snap } from './helpers/dump-kit.js';

/*
 * Database dumps through the real dump tools into real restic: no staging file, one snapshot per
 * database, and a dump that fails half-way never leaves a snapshot behind.
 */
const restic = requireTool('restic');
const pg = findPostgres();
const maria = findMariadb();
if (!restic.ok) console.warn(`skipping dump tests: ${restic.reason}`);
if (!pg.ok) console.warn(`skipping PostgreSQL dump tests: ${pg.reason}`);
if (!maria.ok) console.warn(`skipping MariaDB dump tests: ${maria.reason}`);

const REPO_PW = 'dump-test-repo-pw-2b7e';
const { resticJson, resticDump } = resticKit(REPO_PW);
const engine = createEngine('restic');

/**
 * The child's argv once it has exec'd: right after spawn /proc/<pid>/cmdline can still be empty
 * or the parent's (node) for a moment, so poll briefly (synchronously) until it is the tool's.
 */
function execedCmdline(pid: number): string {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let last = '';
  for (let i = 0; i < 500; i++) {
    try {
      last = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      return last || '(gone)';
    }
    if (last.trim() && !last.startsWith(process.execPath)) return last;
    Atomics.wait(nap, 0, 0, 2);
  }
  return last;
}

/** Everything the job log would have received. */
function collector(): { lines: string[]; o: DumpRunOptions; pids: number[]; cmdlines: string[] } {
  const lines: string[] = [];
  const pids: number[] = [];
  const cmdlines: string[] = [];
  const o: DumpRunOptions = {
    tags: ['nightly'],
    opts: { onLine: (l) => lines.push(`${l.stream}: ${l.line}`) },
    line: (s, t) => lines.push(`${s}: ${t}`),
    onDumpSpawn: (pid) => {
      pids.push(pid);
      cmdlines.push(execedCmdline(pid));
    },
  };
  return { lines, o, pids, cmdlines };
}

describe.skipIf(!restic.ok)('dumps into restic --stdin', () => {
  let tmp: TempDir;
  let conn: Connection;
  beforeAll(async () => void ({ tmp, conn } = await initRepo('rm-dumps-', REPO_PW)), 60_000);
  afterAll(async () => tmp?.cleanup());

  it('a dump tool that fails half-way leaves no snapshot, and its last stderr line is the error', async () => {
    const before = resticJson<Snap[]>(conn, ['snapshots']).length;
    const c = collector();
    const cmd = { binary: 'sh', args: ['-c', 'head -c 3000000 /dev/urandom; sleep 1; echo "pg_dump: error: query failed: server closed the connection" >&2; exit 1'], env: {} };
    const r = await dumpIntoRestic(engine, conn, cmd, 'postgres/broken.sql', ['db:postgres'], { ...c.o, secret: undefined, label: 'pg_dump' });
    expect(r).toMatchObject({ ok: false, error: 'pg_dump failed: pg_dump: error: query failed: server closed the connection' });
    expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
  }, 120_000);

  it('the same stream from a tool that exits 0 becomes one snapshot (the control for the test above)', async () => {
    const before = resticJson<Snap[]>(conn, ['snapshots']).length;
    const c = collector();
    const cmd = { binary: 'sh', args: ['-c', 'head -c 3000000 /dev/zero; sleep 1; exit 0'], env: {} };
    const r = await dumpIntoRestic(engine, conn, cmd, 'postgres/fine.sql', ['db:postgres'], { ...c.o, secret: undefined, label: 'pg_dump' });
    expect(r.ok).toBe(true);
    expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before + 1);
  }, 120_000);

  it('streams a large dump with bounded memory in this process (back-pressure, no buffering)', async () => {
    const c = collector();
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)), 20);
    const cmd = { binary: 'sh', args: ['-c', 'head -c 268435456 /dev/zero'], env: {} };
    const r = await dumpIntoRestic(engine, conn, cmd, 'postgres/big.sql', [], { ...c.o, secret: undefined, label: 'pg_dump' });
    clearInterval(timer);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.summary.totalBytesProcessed).toBe(268435456);
    // 256 MiB went through; what this process held at once stays near the pipe buffers.
    expect(peak).toBeLessThan(48 * 1024 * 1024);
  }, 180_000);

  it('cancelling the job mid-dump stops the tool and restic and leaves no snapshot', async () => {
    const before = resticJson<Snap[]>(conn, ['snapshots']).length;
    const c = collector();
    const abort = new AbortController();
    const cmd = { binary: 'sh', args: ['-c', 'head -c 2000000 /dev/urandom; exec sleep 60'], env: {} };
    const started = Date.now();
    const run = dumpIntoRestic(engine, conn, cmd, 'postgres/cancelled.sql', [], { ...c.o, opts: { ...c.o.opts, signal: abort.signal, killGraceMs: 2000 }, secret: undefined, label: 'pg_dump' });
    // Cancel mid-dump: once the tool has written its 2 MB into restic and sits in `sleep`.
    const inSleep = (): boolean => {
      try {
        return c.pids.length > 0 && fs.readFileSync(`/proc/${c.pids[0]}/cmdline`, 'utf8').startsWith('sleep');
      } catch {
        return false;
      }
    };
    while (!inSleep() && Date.now() - started < 30_000) await new Promise((res) => setTimeout(res, 20));
    expect(inSleep()).toBe(true);
    abort.abort();
    const r = await run;
    expect(r).toEqual({ ok: false, error: 'cancelled', errorKind: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(20_000);
    const pid = c.pids[0]!;
    expect(() => process.kill(pid, 0)).toThrow();
    expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
  }, 120_000);

  describe.skipIf(!pg.ok)('PostgreSQL', () => {
    let db: DbServer;
    beforeAll(async () => {
      db = await startPostgres();
      db.sql('CREATE DATABASE app');
      db.sql("CREATE TABLE items (id int primary key, name text); INSERT INTO items SELECT g, 'item-' || g FROM generate_series(1, 500) g", 'app');
      db.sql('CREATE DATABASE other');
      // '=' would make pg_dump read a bare --dbname as connection options; ',' would split a restic tag.
      db.sql('CREATE DATABASE "we=ird"');
      db.sql('CREATE DATABASE "a,b"');
    }, 120_000);
    afterAll(async () => db?.stop());
    const target = () => ({ engine: 'postgres' as const, host: '127.0.0.1', port: db.port, user: db.user, password: db.password });

    it('dumps a database into a tagged snapshot that restores into a fresh database with the same rows', async () => {
      const c = collector();
      const [r, ...rest] = await runDumps(engine, conn, [{ ...target(), database: 'app' }], c.o);
      expect(rest).toEqual([]);
      expect(r).toMatchObject({ ok: true, database: 'app' });
      if (!r?.ok) return;
      const snap = resticJson<Snap[]>(conn, ['snapshots']).find((s) => s.id.startsWith(r.snapshotId));
      expect(snap?.tags).toEqual(['nightly', 'db:postgres', 'db-name:app']);
      expect(snap?.paths).toEqual(['/postgres/app.sql']);
      const sql = resticDump(conn, r.snapshotId, '/postgres/app.sql');
      expect(sql.toString()).toContain('CREATE TABLE public.items');
      db.sql('CREATE DATABASE restored');
      const load = spawnSync('psql', ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-d', 'restored', '-v', 'ON_ERROR_STOP=1', '-q'], { input: sql, env: { ...process.env, PGPASSWORD: db.password }, encoding: 'utf8' });
      expect(load.stderr).toBe('');
      expect(db.sql("SELECT count(*), sum(id), max(name) FROM items", 'restored')).toBe(db.sql("SELECT count(*), sum(id), max(name) FROM items", 'app'));
      expect(c.cmdlines.join('\n')).not.toContain(db.password);
      expect(c.cmdlines[0]).toContain('pg_dump');
      expect(c.lines.join('\n')).not.toContain(db.password);
    }, 120_000);

    it('all: true dumps every database (templates skipped), one snapshot each; globals go to _globals.sql', async () => {
      const c = collector();
      const res = await runDumps(engine, conn, [{ ...target(), all: true, globals: true, format: 'custom' }], c.o);
      const names = db.sql('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1').split('\n');
      expect(names).toEqual(expect.arrayContaining(['app', 'other', 'postgres']));
      expect(names).not.toContain('template1');
      expect(names).toEqual(expect.arrayContaining(['we=ird', 'a,b']));
      // unsafe names are reported first, then every other database is dumped
      expect(res.map((x) => [x.database, x.ok])).toEqual([['a,b', false], ['_globals', true], ...names.filter((n) => n !== 'a,b').map((n) => [n, true])]);
      const weird = res.find((x) => x.database === 'we=ird');
      if (weird?.ok) expect(resticDump(conn, weird.snapshotId, '/postgres/we=ird.dump').subarray(0, 5).toString()).toBe('PGDMP');
      const app = res.find((x) => x.database === 'app');
      if (!app?.ok) return;
      const bytes = resticDump(conn, app.snapshotId, '/postgres/app.dump');
      expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    }, 180_000);

    it('a wrong password fails with the server\'s message and saves no snapshot', async () => {
      const before = resticJson<Snap[]>(conn, ['snapshots']).length;
      const c = collector();
      const res = await runDumps(engine, conn, [{ ...target(), password: 'wrong-password-x9', database: 'app' }], c.o);
      expect(res).toHaveLength(1);
      expect(res[0]).toMatchObject({ ok: false, database: 'app' });
      expect(res[0]?.ok ? '' : res[0]?.error).toMatch(/^pg_dump failed: .*password authentication failed for user "postgres"/);
      expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
    }, 120_000);

    it.skipIf(process.getuid?.() !== 0)('run_as: dumps over the local socket with peer authentication, as the server\'s OS user, no password', async () => {
      const peer = await startPostgres('unused-pw-a1', { localPeer: true });
      try {
        peer.sql('CREATE DATABASE peerdb');
        peer.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2), (3)", 'peerdb');
        const osUser = peer.osUser!;
        const c = collector();
        // As root (the agent's user) the socket refuses: peer auth wants OS user = database user.
        const [asRoot] = await runDumps(engine, conn, [{ engine: 'postgres', host: peer.socketDir, port: peer.port, user: 'postgres', database: 'peerdb' }], c.o);
        expect(asRoot?.ok ? '' : asRoot?.error).toMatch(/Peer authentication failed for user "postgres"/);
        const [r] = await runDumps(engine, conn, [{ engine: 'postgres', host: peer.socketDir, port: peer.port, user: 'postgres', database: 'peerdb', run_as: osUser }], c.o);
        expect(r).toMatchObject({ ok: true, database: 'peerdb' });
        if (!r?.ok) return;
        expect(resticDump(conn, r.snapshotId, '/postgres/peerdb.sql').toString()).toMatch(/COPY public\.t \(x\) FROM stdin;\n1\n2\n3\n/);
        const [bad] = await runDumps(engine, conn, [{ engine: 'postgres', host: peer.socketDir, port: peer.port, database: 'peerdb', run_as: 'no-such-user-x' }], c.o);
        expect(bad?.ok ? '' : bad?.error).toBe("pg_dump failed: run_as user 'no-such-user-x' does not exist on this host");
      } finally {
        await peer.stop();
      }
    }, 180_000);

    it('a backup job with paths and databases makes the path snapshot and one per database; a failed one fails the job', async () => {
      const dir = path.join(tmp.path, 'etc-like');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'a.conf'), 'x=1\n');
      const before = resticJson<Snap[]>(conn, ['snapshots']).length;
      const ok = await backupWithDumps(engine, conn, { paths: [dir], excludes: [], tags: ['job'], databases: [{ ...target(), database: 'app' }, { ...target(), database: 'other' }] }, {});
      expect(ok.outcome).toMatchObject({ status: 'succeeded', errorKind: null });
      expect(ok.outcome.stats).toHaveProperty('snapshotId');
      expect((ok.outcome.stats?.databases as unknown[]).length).toBe(2);
      expect(ok.extras).toEqual({ snapshots: true, stats: true });
      expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before + 3);
      const bad = await backupWithDumps(engine, conn, { paths: [], excludes: [], tags: [], databases: [{ ...target(), database: 'app' }, { ...target(), database: 'missing' }] }, {});
      expect(bad.outcome).toMatchObject({ status: 'failed', errorKind: 'failed' });
      expect(bad.outcome.error).toMatch(/^postgres database missing: pg_dump failed: .*database "missing" does not exist/);
      expect(bad.outcome.stats?.databases).toEqual([expect.objectContaining({ database: 'app', snapshot_id: expect.any(String) }), expect.objectContaining({ database: 'missing', error: expect.any(String) })]);
      expect(bad.extras).toEqual({ snapshots: true, stats: true }); // app's snapshot is still reported
    }, 180_000);

    it('an unknown database fails with pg_dump\'s message', async () => {
      const res = await runDumps(engine, conn, [{ ...target(), database: 'nope' }], collector().o);
      expect(res[0]?.ok ? '' : res[0]?.error).toMatch(/database "nope" does not exist/);
    }, 120_000);
  });

  describe.skipIf(!maria.ok)('MariaDB', () => {
    let db: DbServer;
    beforeAll(async () => {
      db = await startMariadb();
      db.sql("CREATE DATABASE shop; CREATE TABLE shop.orders (id int primary key, total decimal(10,2), note varchar(64)); USE shop; INSERT INTO shop.orders SELECT seq, seq * 1.5, CONCAT('order-', seq) FROM seq_1_to_300;");
    }, 120_000);
    afterAll(async () => db?.stop());
    const target = () => ({ engine: 'mariadb' as const, host: '127.0.0.1', port: db.port, user: db.user, password: db.password });

    it('dumps with --single-transaction into a snapshot that restores with the same rows', async () => {
      const c = collector();
      const [r] = await runDumps(engine, conn, [{ ...target(), database: 'shop' }], c.o);
      expect(r).toMatchObject({ ok: true, database: 'shop' });
      if (!r?.ok) return;
      const snap = resticJson<Snap[]>(conn, ['snapshots']).find((s) => s.id.startsWith(r.snapshotId));
      expect(snap?.tags).toEqual(['nightly', 'db:mariadb', 'db-name:shop']);
      expect(c.cmdlines[0]).toContain('--single-transaction');
      expect(c.cmdlines.join('\n')).not.toContain(db.password);
      const want = db.sql('SELECT count(*), sum(total), max(note) FROM shop.orders');
      const sql = resticDump(conn, r.snapshotId, '/mariadb/shop.sql');
      db.sql('DROP DATABASE shop');
      const load = spawnSync('mariadb', ['--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', `-P${db.port}`, '-udumper'], { input: sql, env: { ...process.env, MYSQL_PWD: db.password }, encoding: 'utf8' });
      expect(load.stderr).toBe('');
      expect(db.sql('SELECT count(*), sum(total), max(note) FROM shop.orders')).toBe(want);
    }, 120_000);

    it('all: true skips the system schemas', async () => {
      const res = await runDumps(engine, conn, [{ ...target(), all: true }], collector().o);
      expect(res.map((x) => [x.database, x.ok])).toEqual([['mysql', true], ['shop', true]]);
    }, 180_000);

    it('a wrong password fails with the server\'s message and saves no snapshot', async () => {
      const before = resticJson<Snap[]>(conn, ['snapshots']).length;
      const res = await runDumps(engine, conn, [{ ...target(), password: 'wrong-password-x9', database: 'shop' }], collector().o);
      expect(res[0]?.ok ? '' : res[0]?.error).toMatch(/^mariadb-dump failed: .*Access denied for user 'dumper'/);
      expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
    }, 120_000);
  });
});
