/**
 * The store engines a contract suite runs against: SQLite (always) and PostgreSQL — a database on
 * the run's cluster (postgres-global-setup.ts), or a throwaway server of the file's own outside
 * vitest.config.ts; skipped with the reason printed when its binaries are missing. Each `open()`
 * is a fresh, migrated, empty database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPostgres, startPostgres } from '@restic-manager/testkit';
import type { DbServer } from '@restic-manager/testkit';
import { migrate, openStore } from '../../src/store/db.js';
import type { Db } from '../../src/store/db.js';
import { openPgStore } from '../../src/store/pg.js';
import { createDatabase, dropDatabase, haveRunCluster } from './test-database.js';

export interface TestStore {
  db: Db;
  close(): Promise<void>;
}

export interface StoreEngine {
  name: 'sqlite' | 'postgres';
  /** Why this engine is skipped on this machine; null = available. */
  skip: string | null;
  open(): Promise<TestStore>;
  /** RM_DATABASE_URL of a fresh, empty database (null for SQLite: the server uses its data dir). */
  databaseUrl(): Promise<string | null>;
  /** Stops what the engine started (the PostgreSQL server, temp dirs). */
  stop(): Promise<void>;
}

function sqliteEngine(): StoreEngine {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    skip: null,
    async open() {
      const d = mkdtempSync(path.join(os.tmpdir(), 'rm-contract-'));
      dirs.push(d);
      const s = openStore(path.join(d, 'db.sqlite'));
      await migrate(s.db);
      return { db: s.db, close: () => s.close() };
    },
    databaseUrl: () => Promise.resolve(null),
    stop: () => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

function postgresEngine(): StoreEngine {
  const found = findPostgres();
  let server: Promise<DbServer> | null = null;
  let n = 0;
  const made: string[] = [];
  return {
    name: 'postgres',
    skip: found.ok ? null : found.reason,
    async databaseUrl() {
      // The run's cluster (postgres-global-setup.ts) when there is one: no initdb per file.
      if (haveRunCluster()) {
        const url = await createDatabase();
        made.push(url);
        return url;
      }
      server ??= startPostgres();
      const srv = await server;
      const name = `rm_contract_${process.pid}_${++n}`;
      srv.sql(`CREATE DATABASE ${name}`);
      return `postgres://${srv.user}:${srv.password}@127.0.0.1:${srv.port}/${name}`;
    },
    async open() {
      const s = openPgStore((await this.databaseUrl())!, 4);
      await migrate(s.db);
      return s;
    },
    async stop() {
      for (const url of made.splice(0)) await dropDatabase(url);
      if (server) await (await server).stop();
      server = null;
    },
  };
}

/** Both engines; a skipped one is announced once on stderr. */
export function storeEngines(): StoreEngine[] {
  const engines = [sqliteEngine(), postgresEngine()];
  for (const e of engines) if (e.skip) console.warn(`skipping the ${e.name} store contract: ${e.skip}`);
  return engines;
}
