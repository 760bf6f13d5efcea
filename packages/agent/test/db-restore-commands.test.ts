import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DbRestoreArgs } from '@restic-manager/protocol';
import type { Resolve } from '../src/dumps/commands.js';
import { MariadbRename } from '../src/dumps/mariadb-rename.js';
import { createDatabaseCommand, parseDumpFile, pgIdent, restoreCommand } from '../src/dumps/restore-commands.js';

/* The restore tools' argv and environment: passwords only ever in env; psql runs one transaction. */
const resolve: Resolve = (t) => `/usr/bin/${t === 'mysql' ? 'mariadb' : t}`;
const PW = 'restore-cmd-pw-5e1b';
const plain = parseDumpFile('/postgres/app.sql')!;
const custom = parseDumpFile('/postgres/app.dump')!;
const maria = parseDumpFile('/mariadb/shop.sql')!;

describe('db_restore commands', () => {
  it('reads the dump file name: engine, original database, custom format', () => {
    expect(plain).toEqual({ engine: 'postgres', database: 'app', custom: false });
    expect(custom.custom).toBe(true);
    expect(parseDumpFile('/mariadb/my.shop.sql')).toEqual({ engine: 'mariadb', database: 'my.shop', custom: false });
    expect(parseDumpFile('/etc/passwd')).toBeNull();
    expect(parseDumpFile('/postgres/a/b.sql')).toBeNull();
  });

  it('psql: one transaction, stop at the first error, the dump on stdin; the password only in PGPASSWORD', () => {
    const c = restoreCommand({ engine: 'postgres', host: '10.0.0.5', port: 5433, user: 'restore', password: PW }, plain, 'app_copy', resolve);
    expect(c).toEqual({
      binary: '/usr/bin/psql',
      args: ['--host', '10.0.0.5', '--port', '5433', '--username', 'restore', '--no-password', '--no-psqlrc', '--quiet', '--single-transaction', '--set', 'ON_ERROR_STOP=1', '--file', '-', '--dbname', "dbname='app_copy'"],
      env: { PGPASSWORD: PW },
    });
    expect(restoreCommand({ engine: 'postgres', host: '/var/run/postgresql', run_as: 'postgres' }, plain, 'app', resolve)).toMatchObject({ runAs: 'postgres', env: {} });
  });

  it('pg_restore for a custom-format dump: one transaction, exit on the first error', () => {
    const c = restoreCommand({ engine: 'postgres', password: PW }, custom, "o'k", resolve);
    expect(c).toEqual({ binary: '/usr/bin/pg_restore', args: ['--no-password', '--single-transaction', '--exit-on-error', '--dbname', "dbname='o\\'k'"], env: { PGPASSWORD: PW } });
  });

  it('mariadb: TCP or socket, no default database (the dump creates and selects it); the password only in MYSQL_PWD', () => {
    expect(restoreCommand({ engine: 'mariadb', host: 'db.lan', port: 3307, user: 'bk', password: PW }, maria, 'shop', resolve)).toEqual({
      binary: '/usr/bin/mariadb', args: ['--host=db.lan', '--protocol=TCP', '--port=3307', '--user=bk', '--batch'], env: { MYSQL_PWD: PW },
    });
    expect(restoreCommand({ engine: 'mysql', host: '/run/mysqld/mysqld.sock' }, maria, 'x', resolve).args).toEqual(['--socket=/run/mysqld/mysqld.sock', '--batch']);
  });

  it('a container restore runs the tool via docker exec -i, passing the password variable by name only', () => {
    const pg = restoreCommand({ engine: 'postgres', container: 'shop-db-1', user: 'shop', password: PW }, plain, 'shop', resolve);
    expect(pg.binary).toBe('docker');
    expect(pg.args.slice(0, 7)).toEqual(['exec', '-i', '-e', 'PGPASSWORD', 'shop-db-1', 'psql', '--username']);
    const my = restoreCommand({ engine: 'mariadb', container: 'wiki', password: PW }, maria, 'wiki', resolve);
    expect(my.args.slice(0, 6)).toEqual(['exec', '-i', '-e', 'MYSQL_PWD', 'wiki', 'mariadb']);
    for (const c of [pg, my]) expect(c.args.join(' ')).not.toContain(PW);
  });

  it('create / drop: a quoted identifier on the maintenance database', () => {
    const c = createDatabaseCommand({ engine: 'postgres', user: 'u', password: PW }, 'new "db"', resolve);
    expect(c.args).toEqual(['--username', 'u', '--no-password', '--no-psqlrc', '--quiet', '--set', 'ON_ERROR_STOP=1', '--dbname', 'postgres', '--command', 'CREATE DATABASE "new ""db"""']);
    expect(createDatabaseCommand({ engine: 'postgres' }, 'x', resolve, 'DROP').args.at(-1)).toBe('DROP DATABASE "x"');
    expect(pgIdent('a')).toBe('"a"');
  });

  it('the job arguments: file must be a dump file, engine must match it, create is postgres only', () => {
    const ok = { snapshot_id: 'abcdef12', file: '/postgres/app.sql', connection: { engine: 'postgres' }, database: 'app' };
    expect(DbRestoreArgs.parse(ok).create).toBe(false);
    const issue = (a: unknown) => { const r = DbRestoreArgs.safeParse(a); return r.success ? null : r.error.issues[0]?.path.join('.'); };
    expect(issue({ ...ok, file: '/etc/shadow' })).toBe('file');
    expect(issue({ ...ok, connection: { engine: 'mariadb' } })).toBe('connection.engine');
    expect(issue({ ...ok, file: '/mariadb/app.sql', connection: { engine: 'mariadb' }, create: true })).toBe('create');
    expect(issue({ ...ok, connection: { engine: 'postgres', container: 'c', run_as: 'postgres' } })).toBe('connection.run_as');
    expect(issue({ ...ok, database: '-x' })).toBe('database');
  });
});

async function renamed(input: string[], from: string, to: string): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of Readable.from(input.map((s) => Buffer.from(s))).pipe(new MariadbRename(from, to))) out.push(c as Buffer);
  return Buffer.concat(out).toString('utf8');
}

describe('MariadbRename', () => {
  const dump = [
    '-- MariaDB dump\n',
    '--\n-- Current Database: `shop`\n--\n\n',
    'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET latin1 */;\n\n',
    'USE `shop`;\n',
    "INSERT INTO `orders` VALUES (1,'USE `shop`;\\nCREATE DATABASE `shop`');\n",
    'USE `shop`;\n',
  ].join('');
  const want = dump.replace('IF NOT EXISTS*/ `shop`', 'IF NOT EXISTS*/ `shop_copy`').replace(/^USE `shop`;$/gm, 'USE `shop_copy`;');

  it('points CREATE DATABASE and USE lines at the new name, data lines untouched', async () => {
    expect(await renamed([dump], 'shop', 'shop_copy')).toBe(want);
    expect(want).toContain("VALUES (1,'USE `shop`;\\nCREATE DATABASE `shop`')");
  });

  it('gives the same bytes whatever the chunk boundaries', async () => {
    for (const size of [1, 2, 3, 5, 7, 13, 64]) {
      const parts: string[] = [];
      for (let i = 0; i < dump.length; i += size) parts.push(dump.slice(i, i + size));
      expect(await renamed(parts, 'shop', 'shop_copy'), `chunks of ${size}`).toBe(want);
    }
  });

  it('quotes backquotes in names; a long data line passes through unchanged', async () => {
    expect(await renamed(['USE `a`;\n'], 'a', 'we`ird')).toBe('USE `we``ird`;\n');
    const long = `USE ${'x'.repeat(10_000)}\n`;
    expect(await renamed([long.slice(0, 5000), long.slice(5000)], 'x', 'y')).toBe(long);
    expect(await renamed(['USE `shop`;'], 'shop', 'b')).toBe('USE `b`;');
  });
});
