/**
 * The store a test run's servers use. The vitest project `postgres` (vitest.config.ts) sets
 * RM_TEST_STORE=postgres and its global set-up (postgres-global-setup.ts) starts ONE PostgreSQL
 * cluster for the whole run and provides its admin URL; every server a harness starts then gets a
 * fresh database of its own in that cluster. In the `sqlite` project `freshDatabaseUrl()` is null
 * and servers keep SQLite in their data dir.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgres://…/postgres` of the run's cluster (a superuser), set by postgres-global-setup.ts. */
    pgAdminUrl: string;
    /** Why there is no cluster ('' when there is one). */
    pgMissing: string;
  }
}

export const TEST_STORE: 'sqlite' | 'postgres' = process.env.RM_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** Whether the run's PostgreSQL is up (both projects start it; '' when it is not installed). */
export function haveRunCluster(): boolean {
  return Boolean(inject('pgAdminUrl'));
}

function adminUrl(): string {
  const url = inject('pgAdminUrl');
  if (!url) throw new Error(`the run's PostgreSQL is not there: ${inject('pgMissing') || 'run the file through vitest.config.ts (npx vitest run --project postgres <file>)'}`);
  return url;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** RM_DATABASE_URL of a fresh, empty database on the run's PostgreSQL; null on the SQLite store. */
export async function freshDatabaseUrl(): Promise<string | null> {
  return TEST_STORE === 'postgres' ? createDatabase() : null;
}

/** A fresh, empty database on the run's PostgreSQL, whatever the project's store (the store contract uses it). */
export async function createDatabase(): Promise<string> {
  const name = `rm_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

const byDir = new Map<string, Promise<string | null>>();

/**
 * The database of a server data dir: fresh the first time, the same one when a test starts a
 * server on that dir again (a restart keeps its data). Kept to the end of the run.
 */
export function databaseUrlFor(dataDir: string): Promise<string | null> {
  let url = byDir.get(dataDir);
  if (!url) byDir.set(dataDir, (url = freshDatabaseUrl()));
  return url;
}

/** Drops a database `freshDatabaseUrl()` made (its connections are closed first); null is a no-op. */
export async function dropDatabase(url: string | null): Promise<void> {
  if (!url) return;
  const name = new URL(url).pathname.slice(1);
  if (!/^rm_t_\d+_[0-9a-f]{8}$/.test(name)) throw new Error(`not a test database: ${name}`);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Every row of a PostgreSQL database as `pg_dump --data-only` text (for leak checks). */
export async function dumpDatabase(url: string): Promise<string> {
  const { stdout } = await promisify(execFile)('pg_dump', ['--data-only', '--no-owner', `--dbname=${url}`], { maxBuffer: 256 * 1024 * 1024, encoding: 'latin1' });
  return stdout;
}
