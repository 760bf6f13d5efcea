/**
 * RM_DATABASE_URL: the optional PostgreSQL store (docs/decisions/server-0007-postgres.md).
 * Validation only: a bad value names the variable in one line. The PostgreSQL store itself is
 * not in this build yet, so a valid URL is refused too rather than silently using SQLite.
 */
export function checkDatabaseUrl(v: string | undefined, fail: (problem: string) => Error): void {
  if (v === undefined || v === '') return;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw fail('not a URL; expected postgres://user:password@host:5432/database');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw fail(`must start with postgres:// or postgresql://, got '${u.protocol}//'`);
  if (!u.hostname && !u.searchParams.get('host')) throw fail('names no host; expected postgres://user:password@host:5432/database');
  if (u.pathname.replace(/^\/+/, '') === '') throw fail('names no database; expected postgres://user:password@host:5432/database');
  throw fail('the PostgreSQL store is not available in this version yet; unset it to use the embedded SQLite database in RM_DATA_DIR');
}
