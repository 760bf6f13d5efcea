import type { DbConnection } from '@restic-manager/protocol';
import { DUMP_FILE } from '@restic-manager/protocol';
import { conninfoQuote, local, myConn, pgConn, wrap } from './commands.js';
import type { Resolve, ToolCommand } from './commands.js';

/**
 * The argv and environment of the restore tools. Pure, and built from the same connection
 * helpers as the dump commands (commands.ts), so the password rule is the same: PGPASSWORD /
 * MYSQL_PWD in `env`, never in `args`, and `docker exec -i -e VAR` for a container.
 */

/** What a snapshot file name says: engine family, original database name, pg custom format. */
export interface DumpFile {
  engine: string;
  database: string;
  custom: boolean;
}

export function parseDumpFile(file: string): DumpFile | null {
  const m = DUMP_FILE.exec(file);
  if (!m) return null;
  return { engine: m[1]!, database: m[2]!, custom: m[3] === 'dump' };
}

/** A PostgreSQL identifier: double-quoted, `"` doubled. */
export const pgIdent = (n: string): string => `"${n.replace(/"/g, '""')}"`;

/**
 * The tool that reads the dump on its stdin:
 * - postgres plain: `psql [conn] --no-password --no-psqlrc --quiet --single-transaction --set ON_ERROR_STOP=1 --file - --dbname "dbname='DB'"`
 *   (psql wraps a `--file` in BEGIN/COMMIT: the first error rolls everything back);
 * - postgres custom: `pg_restore [conn] --no-password --single-transaction --exit-on-error --dbname "dbname='DB'"` (archive on stdin);
 * - mariadb/mysql: `mariadb [conn] --batch` with no default database: the dump's own
 *   `CREATE DATABASE IF NOT EXISTS` and `USE` (pointed at DB by MariadbRename) create and select
 *   it. Statements run in order; see docs/databases.md on failures.
 */
export function restoreCommand(c: DbConnection, file: DumpFile, database: string, resolve: Resolve): ToolCommand {
  const dbname = ['--dbname', `dbname=${conninfoQuote(database)}`];
  if (c.engine !== 'postgres') {
    const x = myConn(c);
    return wrap(c, local(c, resolve, 'mysql'), [...x.args, '--batch'], x.env);
  }
  const x = pgConn(c);
  if (file.custom) return wrap(c, local(c, resolve, 'pg_restore'), [...x.args, '--single-transaction', '--exit-on-error', ...dbname], x.env);
  return wrap(c, local(c, resolve, 'psql'), [...x.args, '--no-psqlrc', '--quiet', '--single-transaction', '--set', 'ON_ERROR_STOP=1', '--file', '-', ...dbname], x.env);
}

/** `psql [conn] --dbname postgres --command 'CREATE DATABASE "DB"'` (DROP: undoes a created database after a failed restore). */
export function createDatabaseCommand(c: DbConnection, database: string, resolve: Resolve, verb: 'CREATE' | 'DROP' = 'CREATE'): ToolCommand {
  const x = pgConn(c);
  return wrap(c, local(c, resolve, 'psql'), [...x.args, '--no-psqlrc', '--quiet', '--set', 'ON_ERROR_STOP=1', '--dbname', 'postgres', '--command', `${verb} DATABASE ${pgIdent(database)}`], x.env);
}
