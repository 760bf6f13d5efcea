import type { DatabaseTarget, DbConnection } from '@restic-manager/protocol';
import type { Resolve, ToolCommand } from './commands.js';

/**
 * The argv and environment of the Redis, SQLite and MongoDB tools. Pure: no process is started
 * and no file is written here. The password rule is the same as for the SQL servers, never in
 * `args`: redis-cli reads `REDISCLI_AUTH`; mongodump/mongorestore have no password variable, so
 * the caller writes it into a 0600 YAML file (`mongoConfigText`) passed as `--config`.
 *
 * Redis and SQLite are dumped in two steps into a private staging file (see run-dumps), because
 * neither tool can write a consistent copy to a pipe: SQLite's backup API needs a seekable
 * destination, and `redis-cli --rdb -` (7.0) leaves the 40-byte end-of-transfer marker of a
 * diskless sync at the end of stdout (it can only truncate a file).
 */

const runAs = (t: { run_as?: string | undefined }): { runAs?: string } => (t.run_as ? { runAs: t.run_as } : {});

/** `redis-cli [-h H] [-p P] [--user U] --no-auth-warning --rdb <file>` with REDISCLI_AUTH. */
export function redisRdbCommand(t: DatabaseTarget, file: string, resolve: Resolve): ToolCommand {
  const args: string[] = [];
  if (t.host) {
    if (t.host.startsWith('/')) args.push('-s', t.host);
    else args.push('-h', t.host);
  }
  if (t.port) args.push('-p', String(t.port));
  if (t.user) args.push('--user', t.user);
  args.push('--no-auth-warning', '--rdb', file);
  return { binary: resolve('redis_cli'), args, env: t.password ? { REDISCLI_AUTH: t.password } : {}, ...runAs(t) };
}

/** A SQLite URI for a file path that opens it read-write but never creates it. */
export function sqliteUri(p: string): string {
  return `file:${p.replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}?mode=rw`;
}

/**
 * `sqlite3 -bail 'file:<path>?mode=rw' '.timeout 10000' "VACUUM INTO '<file>'"`: an online copy
 * made inside one read transaction, so it is a consistent state of a database that is written
 * meanwhile, and unlike `.backup` (the backup API, which starts over whenever another connection
 * writes) it never restarts under a steady stream of writes. mode=rw: a missing file is an
 * error, not a new empty database.
 */
export function sqliteBackupCommand(t: DatabaseTarget, file: string, resolve: Resolve): ToolCommand {
  return { binary: resolve('sqlite3'), args: ['-bail', sqliteUri(t.path ?? ''), '.timeout 10000', `VACUUM INTO '${file.replace(/'/g, "''")}'`], env: {}, ...runAs(t) };
}

/** `sqlite3 -bail <file> 'PRAGMA integrity_check'` (prints `ok` for a sound database). */
export function sqliteCheckCommand(file: string, resolve: Resolve): ToolCommand {
  return { binary: resolve('sqlite3'), args: ['-bail', sqliteUri(file), 'PRAGMA integrity_check'], env: {} };
}

/** Streams a staged file (stdout), as the tool's user. */
export function catCommand(file: string, t: { run_as?: string | undefined }): ToolCommand {
  return { binary: 'cat', args: ['--', file], env: {}, ...runAs(t) };
}

/** The YAML of a mongodump/mongorestore `--config` file: the password only (a JSON string is a YAML double-quoted scalar). */
export function mongoConfigText(password: string): string {
  return `password: ${JSON.stringify(password)}\n`;
}

function mongoConn(t: Pick<DatabaseTarget, 'host' | 'port' | 'user'>, configFile: string | null): string[] {
  const args: string[] = [];
  if (t.host) args.push(`--host=${t.host}`);
  if (t.port) args.push(`--port=${t.port}`);
  if (t.user) args.push(`--username=${t.user}`, '--authenticationDatabase=admin');
  if (configFile) args.push(`--config=${configFile}`);
  return args;
}

/** `mongodump [conn] --archive [--db=DB] [--config=F]` (the whole instance when `database` is `_all`). */
export function mongoDumpCommand(t: DatabaseTarget, database: string, configFile: string | null, resolve: Resolve): ToolCommand {
  const db = database === MONGO_ALL ? [] : [`--db=${database}`];
  return { binary: resolve('mongodump'), args: [...mongoConn(t, configFile), '--archive', ...db], env: {}, ...runAs(t) };
}

/**
 * `mongorestore [conn] --archive [--nsInclude=FROM.*] [--nsFrom=FROM.* --nsTo=TO.*] [--config=F]`
 * reading the archive on stdin; documents whose _id exists are reported and skipped (no --drop).
 */
export function mongoRestoreCommand(c: DbConnection, from: string, to: string, configFile: string | null, resolve: Resolve): ToolCommand {
  const ns = from === MONGO_ALL ? [] : from === to ? [`--nsInclude=${from}.*`] : [`--nsInclude=${from}.*`, `--nsFrom=${from}.*`, `--nsTo=${to}.*`];
  return { binary: resolve('mongorestore'), args: [...mongoConn(c, configFile), '--archive', ...ns], env: {}, ...runAs(c) };
}

/** The snapshot name of a whole-instance MongoDB archive (`all: true`). */
export const MONGO_ALL = '_all';
