import { existsSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { loadOrCreateKey } from '../crypto/secret-box.js';
import { openPgStore } from '../store/pg.js';
import type { Db } from '../store/db.js';
import type { Database } from '../store/schema.js';

/** The database file's name inside the data directory (as startServer opens it). */
export const SQLITE_FILE = 'restic-manager.db';

/** Where a server keeps its state: what the control-plane commands read and write. */
export interface ServerPaths {
  dataDir: string;
  secretKeyFile: string;
  /** PostgreSQL URL (holds a password: never print it); null = SQLite in dataDir. */
  databaseUrl: string | null;
}

/** A read-only view of a server's database, usable while the server runs. */
export interface StoreView {
  db: Db;
  close(): Promise<void>;
}

/**
 * Opens the server's database for reading beside a running server (SQLite read-only: WAL lets
 * it read while the server writes). Throws naming the file when the data directory has none.
 */
export function openStoreView(p: ServerPaths): StoreView {
  if (p.databaseUrl) {
    const s = openPgStore(p.databaseUrl, 2);
    return { db: s.db, close: () => s.close() };
  }
  const file = path.join(p.dataDir, SQLITE_FILE);
  if (!existsSync(file)) throw new Error(`no database at ${file}: is RM_DATA_DIR (--data-dir) the server's data directory?`);
  const sqlite = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, close: () => db.destroy() };
}

/** Reads the existing key (never creates one): throws naming the file when it is missing. */
export function readSecretKey(file: string): Buffer {
  if (!existsSync(file)) throw new Error(`no secret key at ${file}: give --key-file or RM_SECRET_KEY_FILE`);
  return loadOrCreateKey(file).key;
}
