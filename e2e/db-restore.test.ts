import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMariadb, findPostgres, startMariadb, startPostgres } from '@restic-manager/testkit';
import type { DbServer } from '@restic-manager/testkit';
import type { LocalStack } from './local-stack.js';
import { eventually, localStackTools, startLocalStack } from './local-stack.js';
import { sampleArgv } from './agent-harness.js';

/*
 * Database restore end to end: a dump snapshot made by the real agent (pg_dump / mariadb-dump →
 * restic --stdin) is restored through POST /api/hosts/:id/restore/database → the real agent →
 * `restic dump` streamed into psql / pg_restore / mariadb against throwaway real servers, and the
 * rows are back. A wrong password or an SQL error fails the job naming the tool and changes
 * nothing; the password never shows in any argv (sampled from /proc), the job log, API answers,
 * the audit log or the agent log.
 */
const pg = findPostgres();
const missing = [...localStackTools, ...(pg.ok ? [] : [pg.reason])];
if (missing.length) console.warn(`skipping database restore e2e: ${missing.join('; ')}`);

/** Samples every process's argv until stopped; records which restore tools it saw and any leak. */
function sampleRestoreArgv(secret: string): ReturnType<typeof sampleArgv> {
  return sampleArgv(secret, (cmd) => [
    ...['psql', 'pg_restore', 'mariadb'].filter((t) => new RegExp(`(^|/)${t} .*--`).test(cmd) && !cmd.includes(' -c ') && !cmd.includes(' -e ')),
    ...(/restic .*\bdump -- [0-9a-f]+ \//.test(cmd) ? ['restic dump'] : []),
  ], 10);
}

describe.skipIf(missing.length > 0)('database restore through the real server, agent, restic and database servers', { timeout: 300_000 }, () => {
  let s: LocalStack;
  let db: DbServer;
  const texts: string[] = [];
  const api = async (method: string, p: string, body?: unknown) => {
    const r = await s.api.req(method, p, body);
    texts.push(JSON.stringify(r.body));
    return r;
  };
  beforeAll(async () => {
    db = await startPostgres('e2e-restore-secret-b7e21f');
    db.sql('CREATE DATABASE app');
    // A few MB, so the restore tools live long enough to be seen in /proc.
    db.sql("CREATE TABLE alpha (id int primary key, name text); INSERT INTO alpha SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 50000) g; CREATE TABLE zeta (id int primary key); INSERT INTO zeta SELECT generate_series(1, 10)", 'app');
    s = await startLocalStack();
  }, 180_000);
  afterAll(async () => {
    await s?.close();
    await db?.stop();
  });

  const conn = (password: string) => ({ host: '127.0.0.1', port: db.port, user: db.user, password });
  const q = 'SELECT count(*), md5(string_agg(name, \',\' ORDER BY id)) FROM alpha';
  /** Backs a database up through the agent and waits until the server lists its snapshot. */
  const backup = async (target: Record<string, unknown>): Promise<string> => {
    const job = await s.waitJob(await s.runJob('backup', { databases: [target] }), 180_000);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    const id = (job.stats.databases as { snapshot_id: string }[])[0]!.snapshot_id;
    await eventually(async () => ((await api('GET', `/api/hosts/${s.hostId}/snapshots?limit=200`)).body.items as { id: string }[]).some((x) => x.id.startsWith(id)) || null, 60_000, 'the dump snapshot on the server');
    return id;
  };
  const restore = async (body: Record<string, unknown>) => {
    const r = await api('POST', `/api/hosts/${s.hostId}/restore/database`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await s.waitJob(r.body.job.id as string, 180_000);
    texts.push(JSON.stringify(job), JSON.stringify((await api('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body));
    return job;
  };
  let plainSnap = '';
  let want = '';

  it('a dropped database comes back with its rows (psql, one transaction, create), the password in no argv', async () => {
    want = db.sql(q, 'app');
    plainSnap = await backup({ engine: 'postgres', ...conn(db.password), database: 'app' });
    db.sql('DROP DATABASE app');
    const sampler = sampleRestoreArgv(db.password);
    const job = await restore({ snapshot_id: plainSnap.slice(0, 8), connection: conn(db.password), create: true });
    const { seen, leaks } = sampler.stop();
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(job.kind).toBe('db_restore');
    expect(job.stats).toMatchObject({ engine: 'postgres', database: 'app', file: '/postgres/app.sql', created: true });
    expect(job.stats.bytes).toBeGreaterThan(1_000_000);
    expect(db.sql(q, 'app')).toBe(want);
    expect(db.sql('SELECT count(*) FROM zeta', 'app')).toBe('10');
    expect(leaks).toEqual([]);
    expect([...seen].sort()).toEqual(['psql', 'restic dump']);
    const log = JSON.stringify((await api('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body);
    expect(log).toContain('restoring /postgres/app.sql of snapshot');
    expect(log).toContain('into postgres database app with psql');
  });

  it('a wrong password fails naming psql and its error; the database is unchanged', async () => {
    db.sql('DELETE FROM alpha WHERE id > 100', 'app');
    const before = db.sql(q, 'app');
    const wrong = 'not-the-password-3c9a01';
    const job = await restore({ snapshot_id: plainSnap, connection: conn(wrong), database: 'app' });
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^psql failed: .*password authentication failed for user "postgres"/);
    expect(db.sql(q, 'app')).toBe(before);
    expect(texts.join('\n')).not.toContain(wrong);
    expect(s.agentLogs()).not.toContain(wrong);
  });

  it('an SQL error half-way rolls the whole restore back (single transaction)', async () => {
    // `alpha` is restored first; `zeta` already exists in the target, so its CREATE TABLE fails.
    db.sql('CREATE DATABASE partial');
    db.sql('CREATE TABLE zeta (id int primary key)', 'partial');
    const job = await restore({ snapshot_id: plainSnap, connection: conn(db.password), database: 'partial' });
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^psql failed: .*relation "zeta" already exists/);
    expect(db.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'alpha'", 'partial')).toBe('0');
  });

  it('a custom-format dump restores with pg_restore into a new database; an unknown database fails clearly', async () => {
    const snap = await backup({ engine: 'postgres', ...conn(db.password), database: 'app', format: 'custom' });
    const sampler = sampleRestoreArgv(db.password);
    const job = await restore({ snapshot_id: snap, connection: conn(db.password), database: 'from_custom', create: true });
    const { seen, leaks } = sampler.stop();
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(db.sql(q, 'from_custom')).toBe(db.sql(q, 'app'));
    expect(seen.has('pg_restore')).toBe(true);
    expect(leaks).toEqual([]);
    const none = await restore({ snapshot_id: snap, connection: conn(db.password), database: 'nowhere' });
    expect(none.status).toBe('failed');
    expect(none.error).toMatch(/^pg_restore failed: .*database "nowhere" does not exist/);
  });

  it('refuses a snapshot that is not a database dump, naming the field', async () => {
    const r = await api('POST', `/api/hosts/${s.hostId}/restore/database`, { snapshot_id: 'ffffffff', connection: conn(db.password) });
    expect(r.status).toBe(400);
    expect(r.body.error.fields).toHaveProperty('snapshot_id');
  });

  const maria = findMariadb();
  it.skipIf(!maria.ok)('MariaDB: changed rows come back in place; a restore under another name leaves the original alone; a wrong password fails', async () => {
    const m = await startMariadb('e2e-maria-restore-2f81c0');
    try {
      m.sql("CREATE DATABASE shop; USE shop; CREATE TABLE orders (id int primary key, note varchar(64)); INSERT INTO orders SELECT seq, CONCAT('order-', seq) FROM seq_1_to_30000; CREATE VIEW recent AS SELECT * FROM orders WHERE id > 29990;");
      const mq = 'SELECT count(*), md5(group_concat(note ORDER BY id)) FROM shop.orders';
      const mwant = m.sql(mq);
      const mconn = (password: string) => ({ engine: 'mariadb', host: '127.0.0.1', port: m.port, user: m.user, password });
      const snap = await backup({ ...mconn(m.password), database: 'shop' });
      m.sql("DELETE FROM shop.orders WHERE id > 10; UPDATE shop.orders SET note = 'changed'");
      const sampler = sampleRestoreArgv(m.password);
      const job = await restore({ snapshot_id: snap, connection: mconn(m.password) });
      const { seen, leaks } = sampler.stop();
      expect(job.status, JSON.stringify(job)).toBe('succeeded');
      expect(m.sql(mq)).toBe(mwant);
      expect(leaks).toEqual([]);
      expect(seen.has('mariadb')).toBe(true);

      m.sql("UPDATE shop.orders SET note = 'kept' WHERE id = 1");
      const kept = m.sql(mq);
      const copy = await restore({ snapshot_id: snap, connection: mconn(m.password), database: 'shop_copy' });
      expect(copy.status, JSON.stringify(copy)).toBe('succeeded');
      expect(m.sql(mq.replace('shop.', 'shop_copy.'))).toBe(mwant);
      expect(m.sql('SELECT count(*) FROM shop_copy.recent')).toBe('10');
      expect(m.sql(mq)).toBe(kept);

      const wrong = 'maria-wrong-pw-90d3e1';
      const bad = await restore({ snapshot_id: snap, connection: mconn(wrong) });
      expect(bad.status).toBe('failed');
      expect(bad.error).toMatch(/^mariadb failed: .*Access denied for user 'dumper'/);
      expect(m.sql(mq)).toBe(kept);
      expect(texts.join('\n')).not.toContain(m.password);
      expect(texts.join('\n')).not.toContain(wrong);
      expect(s.agentLogs()).not.toContain(m.password);
    } finally {
      await m.stop();
    }
  });

  it('the password is in no API answer, job log, audit entry or agent log; the audit says has_password', async () => {
    const audit = await api('GET', '/api/audit?action=job.restore&limit=100');
    expect(JSON.stringify(audit.body)).toContain('"has_password":true');
    expect(texts.join('\n')).not.toContain(db.password);
    expect(s.agentLogs()).not.toContain(db.password);
  });
});
