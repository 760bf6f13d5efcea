import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

/** int8 (count(*), BIGINT columns) as a number; past 2^53 it would lose digits, so refuse. */
function parseInt8(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`PostgreSQL returned ${v}, beyond the safe integer range`);
  return n;
}

const INT8 = 20;
const NUMERIC = 1700;

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8) return parseInt8;
    if (oid === NUMERIC) return Number;
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export interface OpenedPgStore {
  db: Kysely<Database>;
  close(): Promise<void>;
}

/**
 * Opens a PostgreSQL store (server decision 7) over a `pg` pool. Not reachable from the server's
 * configuration yet: RM_DATABASE_URL stays refused until the repositories are dialect-aware.
 */
export function openPgStore(url: string, max = 10): OpenedPgStore {
  const pool = new pg.Pool({ connectionString: url, max, types });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, close: () => db.destroy() };
}
