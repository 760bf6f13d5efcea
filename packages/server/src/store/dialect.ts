import { PostgresAdapter } from 'kysely';
import type { Kysely } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** Which engine a Kysely instance (or transaction) talks to; migrations branch on it. */
export function dialectOf<DB>(db: Kysely<DB>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * Runs `fn`'s reads on one snapshot of the database: a page of rows and its total count then agree
 * even while another request replaces the rows (without it a listing could say "1 in total" next
 * to no rows, on either store: another request's statements ran between the two). PostgreSQL: a
 * REPEATABLE READ, READ ONLY transaction; SQLite: a transaction (its one connection is held, so
 * no other statement runs in between). Inside a transaction `fn` simply runs in it.
 */
export async function readOneSnapshot<DB, T>(db: Kysely<DB>, fn: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  // Already inside a transaction (repositories made by inTx): its own reads are the caller's to order.
  if (db.isTransaction) return fn(db);
  if (dialectOf(db) !== 'postgres') return db.transaction().execute((tx) => fn(tx));
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute((tx) => fn(tx));
}
