/**
 * The migration chain on a real PostgreSQL (server decision 7), checked against SQLite: the same
 * tables and columns, data kept across an upgrade from migration 1, and 64-bit values intact.
 * Skips, saying why, when the PostgreSQL binaries are missing.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { findPostgres, startPostgres, tempDir } from '@restic-manager/testkit';
import type { DbServer, TempDir } from '@restic-manager/testkit';
import { migrate, openStore, readiness } from '../src/store/db.js';
import { openPgStore } from '../src/store/pg.js';
import { dialectOf } from '../src/store/dialect.js';
import { MIGRATIONS } from '../src/migrations/index.js';

const found = findPostgres();
if (!found.ok) console.warn(`skipping PostgreSQL store tests: ${found.reason}`);

describe.skipIf(!found.ok)('store migrations on PostgreSQL', () => {
  let server: DbServer;
  let dir: TempDir;
  let n = 0;
  const freshDb = (): string => {
    const name = `rm_store_${++n}`;
    server.sql(`CREATE DATABASE ${name}`);
    return `postgres://${server.user}:${server.password}@127.0.0.1:${server.port}/${name}`;
  };

  beforeAll(async () => {
    server = await startPostgres();
    dir = await tempDir('rm-store-pg-');
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await dir?.cleanup();
  });

  it('several servers starting at once on a new database: one runs each migration, the others wait; /readyz says why until then', async () => {
    const url = freshDb();
    const stores = [openPgStore(url, 2), openPgStore(url, 2), openPgStore(url, 2)];
    try {
      expect(await readiness(stores[0]!.db)).toBe(`${Object.keys(MIGRATIONS).length} migration(s) not applied yet (${Object.keys(MIGRATIONS).sort()[0]!}…)`);
      const applied = await Promise.all(stores.map((st) => migrate(st.db)));
      // Kysely's migrator takes PostgreSQL's advisory lock: every migration ran exactly once, in one of them.
      expect(applied.flat().sort()).toEqual(Object.keys(MIGRATIONS).sort());
      const rows = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(stores[0]!.db);
      expect(rows.rows.map((r) => r.name)).toEqual(Object.keys(MIGRATIONS).sort());
      for (const st of stores) expect(await readiness(st.db)).toBeNull();
      await sql`DELETE FROM kysely_migration WHERE name = ${Object.keys(MIGRATIONS).sort().at(-1)!}`.execute(stores[0]!.db);
      expect(await readiness(stores[1]!.db)).toBe(`1 migration(s) not applied yet (${Object.keys(MIGRATIONS).sort().at(-1)!}…)`);
    } finally {
      for (const st of stores) await st.close();
    }
    // A database that does not answer: the reason without the URL or its password.
    const gone = openPgStore(`postgres://${server.user}:${server.password}@127.0.0.1:1/none`, 1);
    try {
      const why = await readiness(gone.db);
      expect(why).toBe('the database does not answer (ECONNREFUSED)');
    } finally {
      await gone.close();
    }
  });

  it('upgrades a database created by migration 1 in place, keeping its data', async () => {
    const url = freshDb();
    const s1 = openPgStore(url);
    expect(dialectOf(s1.db as unknown as Kysely<unknown>)).toBe('postgres');
    expect(await migrate(s1.db, '0001_initial')).toEqual(['0001_initial']);
    const t = '2026-01-01T00:00:00.000Z';
    await sql`INSERT INTO hosts (id, name, status, tags, created_at, repo_size_bytes) VALUES ('h1', 'old-host', 'offline', '["a"]', ${t}, ${2 ** 40})`.execute(s1.db);
    await sql`INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at, started_at) VALUES ('j1', 'h1', 'backup', 'running', 'user', ${t}, ${t})`.execute(s1.db);
    await s1.close();

    const s2 = openPgStore(url);
    expect(await migrate(s2.db)).toEqual(Object.keys(MIGRATIONS).filter((m) => m > '0001_initial'));
    const host = await s2.db.selectFrom('hosts').selectAll().where('id', '=', 'h1').executeTakeFirstOrThrow();
    expect(host).toMatchObject({ name: 'old-host', tags: '["a"]', schedule_version: 0, repo_size_bytes: 2 ** 40 });
    const job = await s2.db.selectFrom('jobs').selectAll().where('id', '=', 'j1').executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'running', dispatched_at: t });
    const count = await s2.db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(count.n).toBe(1);
    expect(await migrate(s2.db)).toEqual([]);
    await s2.close();
  });

  it('creates the same tables and columns as SQLite', async () => {
    const pg = openPgStore(freshDb());
    await migrate(pg.db);
    const lite = openStore(path.join(dir.path, 'cmp.sqlite'));
    await migrate(lite.db);
    const pgCols = await sql<{ t: string; c: string }>`SELECT table_name AS t, column_name AS c FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%' ORDER BY 1, 2`.execute(pg.db);
    const liteCols = await sql<{ t: string; c: string }>`SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p
      WHERE m.type = 'table' AND m.name NOT LIKE 'kysely_%' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1, 2`.execute(lite.db);
    expect(pgCols.rows.length).toBeGreaterThan(50);
    expect(pgCols.rows).toEqual(liteCols.rows);
    await pg.close();
    await lite.close();
  });

  it('keeps usernames unique regardless of case, like SQLite NOCASE', async () => {
    const pg = openPgStore(freshDb());
    await migrate(pg.db);
    const user = (id: string, username: string) => ({ id, username, password_hash: 'x', role: 'viewer' as const, created_at: 't', last_login_at: null });
    await pg.db.insertInto('users').values(user('u1', 'Alice')).execute();
    await expect(pg.db.insertInto('users').values(user('u2', 'alice')).execute()).rejects.toThrow(/unique/i);
    await pg.close();
  });

  it('survives PostgreSQL dropping its idle connections: the drop is reported, the next query opens a new one', async () => {
    const errors: string[] = [];
    const pg = openPgStore(freshDb(), 4, (e) => errors.push(e.message));
    await migrate(pg.db);
    const db = (await sql<{ d: string }>`SELECT current_database() AS d`.execute(pg.db)).rows[0]!.d;
    server.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`);
    const deadline = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(errors.join('\n')).toMatch(/terminating connection/);
    expect((await sql<{ n: number }>`SELECT 1 AS n`.execute(pg.db)).rows[0]!.n).toBe(1);
    await pg.close();
  });
});
