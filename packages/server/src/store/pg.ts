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
 * Opens a PostgreSQL store (server decision 7) over a `pg` pool of at most `max` connections.
 * A connection PostgreSQL drops while it sits idle in the pool (a restart, an administrator's
 * pg_terminate_backend, a network cut) is reported to `onIdleError` and replaced on the next
 * query: without a listener the pool's `error` event would end the process.
 */
export function openPgStore(url: string, max = 10, onIdleError: (e: Error) => void = () => undefined): OpenedPgStore {
  const pool = new pg.Pool({ connectionString: url, max, types });
  pool.on('error', onIdleError);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, close: () => db.destroy() };
}
