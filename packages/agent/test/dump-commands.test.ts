import { describe, expect, it } from 'vitest';
import { conninfoQuote, dumpCommand, dumpTags, globalsCommand, listCommand, safeDatabaseName, stdinFilename } from '../src/dumps/commands.js';
import type { Resolve } from '../src/dumps/commands.js';

/* The dump tools' argv and environment: passwords only ever in env, docker exec passes the name only. */
const resolve: Resolve = (t) => `/usr/bin/${t === 'mysqldump' ? 'mariadb-dump' : t === 'mysql' ? 'mariadb' : t}`;
const PW = 'cmd-test-pw-0c9d';

describe('dump commands', () => {
  it('pg_dump: connection flags, --no-password, plain by default; the password only in PGPASSWORD', () => {
    const c = dumpCommand({ engine: 'postgres', host: '10.0.0.5', port: 5433, user: 'backup', password: PW, database: 'app' }, 'app', resolve);
    expect(c).toEqual({ binary: '/usr/bin/pg_dump', args: ['--host', '10.0.0.5', '--port', '5433', '--username', 'backup', '--no-password', '--format=plain', '--dbname', "dbname='app'"], env: { PGPASSWORD: PW } });
    expect(dumpCommand({ engine: 'postgres', format: 'custom', database: 'app' }, 'app', resolve).args).toEqual(['--no-password', '--format=custom', '--dbname', "dbname='app'"]);
    expect(globalsCommand({ engine: 'postgres', all: true }, resolve)).toEqual({ binary: '/usr/bin/pg_dumpall', args: ['--no-password', '--globals-only'], env: {} });
  });

  it('mariadb-dump: TCP or socket, --single-transaction; the password only in MYSQL_PWD', () => {
    const tcp = dumpCommand({ engine: 'mariadb', host: 'db.lan', port: 3307, user: 'bk', password: PW, database: 'shop' }, 'shop', resolve);
    expect(tcp).toEqual({ binary: '/usr/bin/mariadb-dump', args: ['--host=db.lan', '--protocol=TCP', '--port=3307', '--user=bk', '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--databases', 'shop'], env: { MYSQL_PWD: PW } });
    expect(dumpCommand({ engine: 'mysql', host: '/run/mysqld/mysqld.sock', database: 'x' }, 'x', resolve).args.slice(0, 2)).toEqual(['--socket=/run/mysqld/mysqld.sock', '--single-transaction']);
    expect(listCommand({ engine: 'mariadb', all: true, password: PW }, resolve)).toEqual({ binary: '/usr/bin/mariadb', args: ['--batch', '--skip-column-names', '--execute', 'SHOW DATABASES'], env: { MYSQL_PWD: PW } });
  });

  it('a container target runs the tool via docker exec, passing the password variable by name only', () => {
    const pg = dumpCommand({ engine: 'postgres', container: 'shop-db-1', user: 'shop', password: PW, database: 'shop' }, 'shop', resolve);
    expect(pg).toEqual({ binary: 'docker', args: ['exec', '-i', '-e', 'PGPASSWORD', 'shop-db-1', 'pg_dump', '--username', 'shop', '--no-password', '--format=plain', '--dbname', "dbname='shop'"], env: { PGPASSWORD: PW } });
    const my = dumpCommand({ engine: 'mariadb', container: 'wiki', user: 'wiki', password: PW, database: 'wiki' }, 'wiki', resolve);
    expect(my.args.slice(0, 6)).toEqual(['exec', '-i', '-e', 'MYSQL_PWD', 'wiki', 'mariadb-dump']);
    expect(dumpCommand({ engine: 'postgres', container: 'c1', database: 'a' }, 'a', resolve).args.slice(0, 4)).toEqual(['exec', '-i', 'c1', 'pg_dump']);
    for (const c of [pg, my]) expect(c.args.join(' ')).not.toContain(PW);
  });

  it('quotes the database as a conninfo value, so "a=b" or a URI is never read as connection options', () => {
    expect(dumpCommand({ engine: 'postgres', database: 'x' }, "host=evil sslkey=/etc/shadow o'k\\", resolve).args.at(-1)).toBe("dbname='host=evil sslkey=/etc/shadow o\\'k\\\\'");
    expect(conninfoQuote('postgresql://u@h/db')).toBe("'postgresql://u@h/db'");
    expect(['app', 'my db', 'a=b'].map(safeDatabaseName)).toEqual([true, true, true]);
    expect(['a/b', 'a,b', '-x', ' x', 'a\\b', ''].map(safeDatabaseName)).toEqual([false, false, false, false, false, false]);
  });

  it('names the snapshot file and tags it by engine and database', () => {
    expect(stdinFilename({ engine: 'postgres', database: 'a' }, 'a')).toBe('postgres/a.sql');
    expect(stdinFilename({ engine: 'postgres', format: 'custom', database: 'a' }, 'a')).toBe('postgres/a.dump');
    expect(stdinFilename({ engine: 'mysql', database: 'a' }, 'a')).toBe('mysql/a.sql');
    expect(dumpTags({ engine: 'mariadb', container: 'w', database: 'x' }, 'x', ['nightly'])).toEqual(['nightly', 'db:mariadb', 'db-name:x', 'db-container:w']);
  });
});
