import type { DatabaseTarget } from '@restic-manager/protocol';

/**
 * The argv and environment of the dump and listing tools for one database target. Pure: no
 * process is started here. Passwords go into `env` (PGPASSWORD / MYSQL_PWD) and never into
 * `args`; with `container` set the command is wrapped in `docker exec -i -e VAR <container>`,
 * which copies VAR from the docker CLI's own environment, so the password stays out of argv there
 * too.
 */
export interface ToolCommand {
  binary: string;
  args: string[];
  /** Added to the tool's base environment (PATH, LANG). Holds the password, if any. */
  env: Record<string, string>;
  /** OS user (name or uid) to run the tool as; absent: the agent's own user. */
  runAs?: string;
}

/** Candidate binaries per tool, first found on PATH wins (MariaDB ships both names). */
export const TOOL_CANDIDATES = {
  pg_dump: ['pg_dump'],
  pg_dumpall: ['pg_dumpall'],
  psql: ['psql'],
  pg_restore: ['pg_restore'],
  mysqldump: ['mariadb-dump', 'mysqldump'],
  mysql: ['mariadb', 'mysql'],
  redis_cli: ['redis-cli'],
  sqlite3: ['sqlite3'],
  mongodump: ['mongodump'],
  mongorestore: ['mongorestore'],
} as const;
export type ToolName = keyof typeof TOOL_CANDIDATES;

/** Resolves a tool name to a binary; inside a container the first candidate name is used as is. */
export type Resolve = (tool: ToolName) => string;

/** The server-reaching part of a target (shared by dump and restore commands). */
export type ServerFields = Pick<DatabaseTarget, 'engine' | 'host' | 'port' | 'user' | 'password' | 'container' | 'run_as'>;

export function pgConn(t: ServerFields): { args: string[]; env: Record<string, string> } {
  const args: string[] = [];
  if (t.host) args.push('--host', t.host);
  if (t.port) args.push('--port', String(t.port));
  if (t.user) args.push('--username', t.user);
  args.push('--no-password');
  return { args, env: t.password ? { PGPASSWORD: t.password } : {} };
}

export function myConn(t: ServerFields): { args: string[]; env: Record<string, string> } {
  const args: string[] = [];
  if (t.host) {
    if (t.host.startsWith('/')) args.push(`--socket=${t.host}`);
    else args.push(`--host=${t.host}`, '--protocol=TCP');
  }
  if (t.port) args.push(`--port=${t.port}`);
  if (t.user) args.push(`--user=${t.user}`);
  return { args, env: t.password ? { MYSQL_PWD: t.password } : {} };
}

export function wrap(t: ServerFields, binary: string, args: string[], env: Record<string, string>): ToolCommand {
  if (!t.container) return { binary, args, env, ...(t.run_as ? { runAs: t.run_as } : {}) };
  const pass = Object.keys(env).flatMap((k) => ['-e', k]);
  return { binary: 'docker', args: ['exec', '-i', ...pass, t.container, binary, ...args], env };
}

export const local = (t: ServerFields, resolve: Resolve, tool: ToolName): string => (t.container ? TOOL_CANDIDATES[tool][0] : resolve(tool));

/** `pg_dump` / `mariadb-dump` of one database to stdout. */
export function dumpCommand(t: DatabaseTarget, database: string, resolve: Resolve): ToolCommand {
  if (t.engine === 'postgres') {
    const c = pgConn(t);
    const format = t.format === 'custom' ? ['--format=custom'] : ['--format=plain'];
    // As a conninfo string, so a name with '=' (or a URI) is never read as connection options.
    return wrap(t, local(t, resolve, 'pg_dump'), [...c.args, ...format, '--dbname', `dbname=${conninfoQuote(database)}`], c.env);
  }
  const c = myConn(t);
  // --single-transaction: a consistent InnoDB snapshot without locking the tables.
  const args = [...c.args, '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--databases', database];
  return wrap(t, local(t, resolve, 'mysqldump'), args, c.env);
}

/** A libpq conninfo value: single-quoted, with \\ and ' escaped by a backslash. */
export function conninfoQuote(v: string): string {
  return `'${v.replace(/[\\']/g, (ch) => `\\${ch}`)}'`;
}

/**
 * Whether a database name may become a snapshot file name, a restic tag and a tool argument:
 * no / \ , or NUL, not starting with - or a space (the rule of DatabaseTarget.database; names
 * listed by `all: true` are checked against it too).
 */
export function safeDatabaseName(n: string): boolean {
  return /^[^\0/\\,\s-][^\0/\\,]*$/.test(n) && n.length <= 128;
}

/** `pg_dumpall --globals-only` (roles, tablespaces). Postgres only. */
export function globalsCommand(t: DatabaseTarget, resolve: Resolve): ToolCommand {
  const c = pgConn(t);
  return wrap(t, local(t, resolve, 'pg_dumpall'), [...c.args, '--globals-only'], c.env);
}

/** System databases that `all: true` skips (they are rebuilt by the server itself). */
export const SKIPPED_DATABASES: Record<'postgres' | 'mysql', ReadonlySet<string>> = {
  postgres: new Set(['template0', 'template1']),
  mysql: new Set(['information_schema', 'performance_schema', 'sys']),
};

/** Lists the databases of a server, one name a line on stdout (for `all: true`). */
export function listCommand(t: DatabaseTarget, resolve: Resolve): ToolCommand {
  if (t.engine === 'postgres') {
    const c = pgConn(t);
    return wrap(t, local(t, resolve, 'psql'), [...c.args, '--dbname', 'postgres', '--no-align', '--tuples-only', '--command', 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1'], c.env);
  }
  const c = myConn(t);
  return wrap(t, local(t, resolve, 'mysql'), [...c.args, '--batch', '--skip-column-names', '--execute', 'SHOW DATABASES'], c.env);
}

const EXT: Partial<Record<DatabaseTarget['engine'], string>> = { redis: 'rdb', sqlite: 'db', mongodb: 'archive' };

/** The snapshot's file name inside restic: `<engine>/<database>.sql` (`.dump` for custom format, `.rdb`, `.db`, `.archive`). */
export function stdinFilename(t: DatabaseTarget, database: string): string {
  const ext = EXT[t.engine] ?? (t.engine === 'postgres' && t.format === 'custom' ? 'dump' : 'sql');
  return `${t.engine}/${database}.${ext}`;
}

/** Tags of a dump snapshot: `db:<engine>`, `db-name:<name>` (+ `db-container:<c>`). */
export function dumpTags(t: DatabaseTarget, database: string, extra: readonly string[]): string[] {
  const tags = [...extra, `db:${t.engine}`, `db-name:${database}`];
  if (t.container) tags.push(`db-container:${t.container}`);
  return tags;
}
