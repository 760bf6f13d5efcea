/**
 * RM_DATABASE_URL: the optional PostgreSQL store (docs/decisions/server-0007-postgres.md).
 * Returns the URL, or null for the embedded SQLite database; a bad value fails with one line
 * that names the variable and never echoes the password.
 */
export function checkDatabaseUrl(v: string | null | undefined, fail: (problem: string) => Error): string | null {
  if (v === undefined || v === null || v === '') return null;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw fail('not a URL; expected postgres://user:password@host:5432/database');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw fail(`must start with postgres:// or postgresql://, got '${u.protocol}//'`);
  if (!u.hostname && !u.searchParams.get('host')) throw fail('names no host; expected postgres://user:password@host:5432/database');
  if (u.pathname.replace(/^\/+/, '') === '') throw fail('names no database; expected postgres://user:password@host:5432/database');
  return v;
}
