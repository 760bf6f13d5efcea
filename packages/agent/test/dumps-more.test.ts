import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import { DatabaseTarget, DbRestoreArgs } from '@restic-manager/protocol';
import { freePort, requireTool } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { runDumps } from '../src/dumps/run-dumps.js';
import { runDbRestore } from '../src/dumps/restore-job.js';
import { planDump } from '../src/dumps/dump-plan.js';
import { resolveTool } from '../src/dumps/tools.js';
import { resticKit, argvWhile, collector, initRepo, type Snap } from './helpers/dump-kit.js';

/*
 * Redis (live redis-server with requirepass), SQLite (live, a database written while it is
 * backed up) and MongoDB (no server in Debian: argv, the 0600 --config file and stand-in tools)
 * dumped into real restic, and restored where the tool allows it.
 */
const restic = requireTool('restic');
const redis = requireTool('redis-server');
const sqlite = requireTool('sqlite3');
if (!restic.ok) console.warn(`skipping Redis/SQLite/MongoDB dump tests: ${restic.reason}`);
if (!redis.ok) console.warn(`skipping Redis dump tests: ${redis.reason} (apt-get install redis-server redis-tools)`);
if (!sqlite.ok) console.warn(`skipping SQLite dump tests: ${sqlite.reason} (apt-get install sqlite3)`);

const REPO_PW = 'dump-more-repo-pw-51c0';
const { resticJson, resticDump } = resticKit(REPO_PW);
const engine = createEngine('restic');

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not after ${ms} ms`);
}

/** redis-server on a loopback port; the password is in a 0600 config file, not in its argv. */
async function startRedis(dir: string, password: string, dbfilename = 'dump.rdb'): Promise<{ port: number; cli: (...a: string[]) => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const conf = path.join(dir, `redis-${port}.conf`);
  fs.writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nrequirepass "${password}"\ndir ${dir}\ndbfilename ${dbfilename}\nsave ""\nappendonly no\n`, { mode: 0o600 });
  const child: ChildProcess = spawn('redis-server', [conf], { stdio: 'ignore' });
  const cli = (...a: string[]): string => {
    const r = spawnSync('redis-cli', ['-p', String(port), '--no-auth-warning', ...a], { env: { ...process.env, REDISCLI_AUTH: password }, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : `ERR ${r.stderr}`;
  };
  await until(() => cli('PING') === 'PONG', `redis-server on ${port}`);
  return {
    port,
    cli,
    stop: () => new Promise<void>((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGKILL');
    }),
  };
}

describe.skipIf(!restic.ok)('Redis, SQLite and MongoDB dumps', () => {
  let tmp: TempDir;
  let conn: Connection;
  beforeAll(async () => void ({ tmp, conn } = await initRepo('rm-dumps-more-', REPO_PW)), 60_000);
  afterAll(async () => tmp?.cleanup());

  describe.skipIf(!redis.ok)('redis (live redis-server)', () => {
    const PW = 'redis-secret-8d2f-zz';
    let srv: Awaited<ReturnType<typeof startRedis>>;
    beforeAll(async () => {
      srv = await startRedis(tmp.path, PW);
      for (let i = 0; i < 500; i++) srv.cli('SET', `key:${i}`, `value-${i}-${'x'.repeat(200)}`);
      srv.cli('HSET', 'h', 'field', 'héllo');
    }, 60_000);
    afterAll(async () => srv?.stop());

    it('redis-cli --rdb (REDISCLI_AUTH, never argv) becomes /redis/<name>.rdb, and a redis-server started on that file has every key', async () => {
      const c = collector();
      const t = DatabaseTarget.parse({ engine: 'redis', host: '127.0.0.1', port: srv.port, password: PW, database: 'cache' });
      const { value: res, argv } = await argvWhile(() => runDumps(engine, conn, [t], c.o));
      expect(res).toMatchObject([{ ok: true, engine: 'redis', database: 'cache' }]);
      expect(argv.some((a) => a.includes('redis-cli') && a.includes('--rdb'))).toBe(true);
      expect(argv.filter((a) => a.includes(PW))).toEqual([]);
      expect(c.lines.join('\n')).not.toContain(PW);
      const snap = resticJson<Snap[]>(conn, ['snapshots']).find((s) => s.id.startsWith(res[0]?.ok ? res[0].snapshotId : '-'));
      expect(snap?.paths).toEqual(['/redis/cache.rdb']);
      expect(snap?.tags).toEqual(expect.arrayContaining(['nightly', 'db:redis', 'db-name:cache']));
      const rdb = resticDump(conn, snap!.id, '/redis/cache.rdb');
      expect(rdb.subarray(0, 5).toString()).toBe('REDIS');
      // The operator's restore (docs/databases.md): the file as dump.rdb of a stopped server.
      const other = path.join(tmp.path, 'restored-redis');
      fs.mkdirSync(other);
      fs.writeFileSync(path.join(other, 'dump.rdb'), rdb);
      const back = await startRedis(other, 'other-pw-1');
      try {
        expect(back.cli('DBSIZE')).toBe('501');
        expect(back.cli('GET', 'key:499')).toBe(`value-499-${'x'.repeat(200)}`);
        expect(back.cli('HGET', 'h', 'field')).toBe('héllo');
      } finally {
        await back.stop();
      }
      // The private staging directory is gone.
      expect(fs.readdirSync(path.dirname(tmp.path)).filter((n) => n.startsWith('rm-dump-') && fs.existsSync(path.join(path.dirname(tmp.path), n, 'dump.rdb')))).toEqual([]);
    }, 120_000);

    it('a wrong password fails naming the server and leaves no snapshot', async () => {
      const before = resticJson<Snap[]>(conn, ['snapshots']).length;
      const c = collector();
      const res = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'redis', host: '127.0.0.1', port: srv.port, password: 'wrong-pw-77', database: 'cache' })], c.o);
      expect(res[0]?.ok ? '' : res[0]?.error).toBe(`redis-cli failed (redis at 127.0.0.1:${srv.port}): AUTH failed: WRONGPASS invalid username-password pair or user is disabled.`);
      expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
    }, 60_000);

    it('a db_restore of a Redis dump is refused with what to do instead', () => {
      const r = DbRestoreArgs.safeParse({ snapshot_id: 'abcdef12', file: '/redis/cache.rdb', connection: { engine: 'redis' }, database: 'cache' });
      expect(r.success).toBe(false);
      expect(JSON.stringify(r.error?.issues)).toContain('cannot be loaded through redis-cli');
    });
  });

  describe.skipIf(!sqlite.ok)('sqlite (live sqlite3, written during the backup)', () => {
    it('VACUUM INTO of a database written meanwhile restores to a file that passes integrity_check with only whole transactions', async () => {
      const db = path.join(tmp.path, 'app.db');
      const init = spawnSync('sqlite3', [db, 'PRAGMA journal_mode=WAL; CREATE TABLE t (batch INTEGER, n INTEGER, pad BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 4000) INSERT INTO t SELECT 0, i, randomblob(4000) FROM c;'], { encoding: 'utf8' });
      expect(init.status, init.stderr).toBe(0);
      // A writer: every transaction inserts exactly 3 rows of one batch.
      const writer = spawn('sqlite3', [db], { stdio: ['pipe', 'ignore', 'ignore'] });
      writer.stdin.write('.timeout 10000\n');
      let batch = 1;
      let writing = true;
      const pump = (): void => {
        if (!writing) return;
        const stmts = [];
        for (let i = 0; i < 20; i++, batch++) stmts.push(`BEGIN; INSERT INTO t VALUES (${batch}, 1, randomblob(3000)); INSERT INTO t VALUES (${batch}, 2, randomblob(3000)); INSERT INTO t VALUES (${batch}, 3, randomblob(3000)); COMMIT;`);
        if (writer.stdin.write(stmts.join('\n') + '\n')) setImmediate(pump);
        else writer.stdin.once('drain', pump);
      };
      pump();
      await until(() => Number(spawnSync('sqlite3', [db, '.timeout 5000', 'SELECT count(*) FROM t WHERE batch > 0'], { encoding: 'utf8' }).stdout.trim()) > 30, 'the writer');
      const c = collector();
      let res;
      try {
        res = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'sqlite', path: db, database: 'app' })], c.o);
      } finally {
        writing = false;
        writer.stdin.end();
        await new Promise((r) => writer.once('exit', r));
      }
      expect(res).toMatchObject([{ ok: true, engine: 'sqlite', database: 'app' }]);
      const id = res[0]?.ok ? res[0].snapshotId : '';
      expect(resticJson<Snap[]>(conn, ['snapshots']).find((s) => s.id.startsWith(id || '-'))?.paths).toEqual(['/sqlite/app.db']);

      const target = path.join(tmp.path, 'restored.db');
      const args = DbRestoreArgs.parse({ snapshot_id: id, file: '/sqlite/app.db', connection: { engine: 'sqlite', path: target }, database: 'app' });
      const lines: string[] = [];
      const out = await runDbRestore(engine, conn, args, { onLine: (l) => lines.push(l.line) });
      expect(out, lines.join('\n')).toMatchObject({ status: 'succeeded' });
      const q = (sql: string): string => spawnSync('sqlite3', [target, sql], { encoding: 'utf8' }).stdout.trim();
      expect(q('PRAGMA integrity_check')).toBe('ok');
      expect(q('SELECT count(*) FROM t WHERE batch = 0')).toBe('4000');
      expect(Number(q('SELECT count(*) FROM t WHERE batch > 0'))).toBeGreaterThan(30);
      // The writer kept writing while the copy was made: the original has more than the copy.
      expect(Number(spawnSync('sqlite3', [db, 'SELECT count(*) FROM t'], { encoding: 'utf8' }).stdout.trim())).toBeGreaterThan(Number(q('SELECT count(*) FROM t')));
      // Consistent: no half-written transaction (every batch has its 3 rows).
      expect(q('SELECT count(*) FROM (SELECT batch FROM t WHERE batch > 0 GROUP BY batch HAVING count(*) <> 3)')).toBe('0');

      // The restored file exists now: a second restore never replaces it.
      const again = await runDbRestore(engine, conn, args, {});
      expect(again).toMatchObject({ status: 'failed', error: `${target} exists: a SQLite restore never replaces a database file (choose a new path)` });
      expect(fs.readdirSync(tmp.path).filter((n) => n.includes('.restoring-'))).toEqual([]);
    }, 180_000);

    it('a missing database file fails naming it (never an empty new database) and leaves no snapshot', async () => {
      const before = resticJson<Snap[]>(conn, ['snapshots']).length;
      const missing = path.join(tmp.path, 'nope.db');
      const res = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'sqlite', path: missing, database: 'nope' })], collector().o);
      expect(res[0]?.ok ? '' : res[0]?.error).toMatch(new RegExp(`^sqlite3 failed \\(sqlite at ${missing}\\): .*unable to open database`));
      expect(fs.existsSync(missing)).toBe(false);
      expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
    }, 60_000);
  });

  describe('mongodb (no server in Debian: stand-in tools)', () => {
    const PW = 'mongo-secret-44a1"\\q';
    /** A stand-in mongodump/mongorestore: records its argv and its --config file (content and mode). */
    const standIn = (name: string, body: string): string => {
      const p = path.join(tmp.path, name);
      fs.writeFileSync(p, `#!/bin/sh\nlog='${tmp.path}/${name}.log'\necho "argv: $*" > "$log"\nfor a in "$@"; do case "$a" in --config=*) f="\${a#--config=}"; echo "mode: $(stat -c %a "$f")" >> "$log"; printf 'config: %s\\n' "$(cat "$f")" >> "$log";; esac; done\n${body}\n`, { mode: 0o755 });
      return p;
    };

    it('mongodump --archive streams into /mongodb/<db>.archive; the password only in a 0600 --config file, removed afterwards', async () => {
      const dump = standIn('mongodump', `printf 'MONGOARCHIVE-%s' "$*" | head -c 40; head -c 100000 /dev/zero`);
      const t = DatabaseTarget.parse({ engine: 'mongodb', host: '127.0.0.1', port: 27017, user: 'backup', password: PW, database: 'shop' });
      const res = await runDumps(engine, conn, [t], { ...collector().o, resolve: (tool) => (tool === 'mongodump' ? dump : resolveTool(tool)) });
      expect(res).toMatchObject([{ ok: true, engine: 'mongodb', database: 'shop' }]);
      const log = fs.readFileSync(`${dump}.log`, 'utf8');
      const argv = /argv: (.*)/.exec(log)![1]!;
      expect(argv).toMatch(/^--host=127\.0\.0\.1 --port=27017 --username=backup --authenticationDatabase=admin --config=\/.*\/mongo\.yaml --archive --db=shop$/);
      expect(argv).not.toContain('mongo-secret');
      expect(log).toContain('mode: 600');
      expect(log).toContain(`config: password: ${JSON.stringify(PW)}`);
      expect(fs.existsSync(/--config=(\S+)/.exec(argv)![1]!)).toBe(false);
      const id = res[0]?.ok ? res[0].snapshotId : '';
      expect(resticDump(conn, id, '/mongodb/shop.archive').subarray(0, 12).toString()).toBe('MONGOARCHIVE');
    }, 60_000);

    it('all: true is one archive of the whole instance (/mongodb/_all.archive, no --db); a failing mongodump leaves no snapshot', async () => {
      const dump = standIn('mongodump', 'head -c 1000 /dev/zero');
      const res = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'mongodb', all: true })], { ...collector().o, resolve: (tool) => (tool === 'mongodump' ? dump : resolveTool(tool)) });
      expect(res).toMatchObject([{ ok: true, database: '_all' }]);
      expect(fs.readFileSync(`${dump}.log`, 'utf8')).toMatch(/^argv: --archive$/m);
      const before = resticJson<Snap[]>(conn, ['snapshots']).length;
      const bad = standIn('mongodump', `head -c 50000 /dev/zero; echo 'Failed: cannot create session: connection() error occurred during connection handshake: auth error: sasl conversation error: unable to authenticate using mechanism "SCRAM-SHA-1": (AuthenticationFailed) Authentication failed.' >&2; exit 1`);
      const failed = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'mongodb', user: 'backup', password: 'bad', database: 'shop' })], { ...collector().o, resolve: (tool) => (tool === 'mongodump' ? bad : resolveTool(tool)) });
      expect(failed[0]?.ok ? '' : failed[0]?.error).toMatch(/^mongodump failed: Failed: .*Authentication failed\.$/);
      expect(resticJson<Snap[]>(conn, ['snapshots']).length).toBe(before);
    }, 60_000);

    it('db_restore streams the archive into mongorestore --archive (renamed with --nsFrom/--nsTo), password in --config', async () => {
      const dump = standIn('mongodump', `printf 'ARCHIVE-BYTES'`);
      const res = await runDumps(engine, conn, [DatabaseTarget.parse({ engine: 'mongodb', database: 'shop' })], { ...collector().o, resolve: (tool) => (tool === 'mongodump' ? dump : resolveTool(tool)) });
      const id = res[0]?.ok ? res[0].snapshotId : '';
      const restore = standIn('mongorestore', `cat > '${tmp.path}/mongorestore.stdin'`);
      const args = DbRestoreArgs.parse({ snapshot_id: id, file: '/mongodb/shop.archive', connection: { engine: 'mongodb', user: 'backup', password: PW }, database: 'shop2' });
      const out = await runDbRestore(engine, conn, args, {}, { resolve: (tool) => (tool === 'mongorestore' ? restore : resolveTool(tool)) });
      expect(out).toMatchObject({ status: 'succeeded' });
      expect(fs.readFileSync(`${tmp.path}/mongorestore.stdin`, 'utf8')).toBe('ARCHIVE-BYTES');
      const log = fs.readFileSync(`${restore}.log`, 'utf8');
      expect(/argv: (.*)/.exec(log)![1]).toMatch(/^--username=backup --authenticationDatabase=admin --config=\S+ --archive --nsInclude=shop\.\* --nsFrom=shop\.\* --nsTo=shop2\.\*$/);
      expect(log).not.toMatch(/argv: .*mongo-secret/);
      expect(log).toContain('mode: 600');
    }, 60_000);

    it('the plan keeps the password out of argv and env, and removes its private directory', () => {
      const plan = planDump(DatabaseTarget.parse({ engine: 'mongodb', password: PW, database: 'x' }), 'x', resolveTool);
      if ('error' in plan) throw new Error(plan.error);
      expect(JSON.stringify([plan.cmd.args, plan.cmd.env])).not.toContain('mongo-secret');
      const cfg = /--config=(\S+)/.exec(plan.cmd.args.join(' '))![1]!;
      expect(fs.statSync(path.dirname(cfg)).mode & 0o777).toBe(0o700);
      plan.dispose();
      expect(fs.existsSync(path.dirname(cfg))).toBe(false);
    });
  });

  it('protocol: no container for redis/sqlite/mongodb, sqlite needs path, redis/sqlite need a name', () => {
    const issues = (v: unknown): string => JSON.stringify(DatabaseTarget.safeParse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? []);
    expect(issues({ engine: 'redis', container: 'cache-1', database: 'c' })).toContain("container: redis dumps run on the agent's host only");
    expect(issues({ engine: 'sqlite', database: 'a' })).toContain('path: sqlite needs path');
    expect(issues({ engine: 'postgres', path: '/x.db', database: 'a' })).toContain('path: path applies to sqlite only');
    expect(issues({ engine: 'sqlite', path: '/x.db', all: true })).toContain('all: sqlite has no database list');
    expect(DatabaseTarget.safeParse({ engine: 'sqlite', path: '/srv/app.db', database: 'app' }).success).toBe(true);
  });
});
