import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely';
import { MIGRATIONS } from '../migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface OpenedStore {
  db: Db;
  /** The raw handle, for synchronous transactions on hot paths. */
  sqlite: BetterSqlite3.Database;
  close(): Promise<void>;
}

/** Opens (creating if absent) the SQLite database in WAL mode with foreign keys on. */
export function openStore(file: string): OpenedStore {
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, sqlite, close: () => db.destroy() };
}

/**
 * Kysely prepares every query anew; on hot paths (agent frames, run-now) preparing costs more
 * than running. This wraps the handle so `prepare` reuses statements by SQL text (bounded).
 * Safe because better-sqlite3 is synchronous and Kysely never streams (iterate) here.
 */
function withStatementCache(sqlite: BetterSqlite3.Database, max = 500): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') {
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return (sql: string) => {
        let st = cache.get(sql);
        if (!st) {
          st = target.prepare(sql);
          if (cache.size >= max) cache.delete(cache.keys().next().value as string);
          cache.set(sql, st);
        }
        return st;
      };
    },
  });
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(this.migrations);
  }
}

/**
 * Whether this store can serve (`GET /readyz`): null when the database answers and every
 * migration of this version is applied; otherwise the reason, without connection details.
 */
export async function readiness(db: Db): Promise<string | null> {
  let applied: Set<string>;
  try {
    const r = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
    applied = new Set(r.rows.map((x) => x.name));
  } catch (e) {
    // A new database has no bookkeeping table yet (PostgreSQL 42P01, SQLite "no such table").
    if (/kysely_migration/.test((e as Error).message)) applied = new Set();
    else {
      const code = (e as { code?: string }).code;
      return `the database does not answer${code ? ` (${code})` : ''}`;
    }
  }
  const pending = Object.keys(MIGRATIONS).filter((m) => !applied.has(m));
  return pending.length ? `${pending.length} migration(s) not applied yet (${pending[0]}…)` : null;
}

/**
 * Applies pending migrations in order (each in its own transaction). `upTo` stops after the
 * named migration (tests use it to build an old database). Throws naming the failed migration.
 */
export async function migrate(db: Db, upTo?: string): Promise<string[]> {
  const migrations = upTo
    ? Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name <= upTo))
    : MIGRATIONS;
  const migrator = new Migrator({ db, provider: new StaticProvider(migrations) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
