import { parseArgs } from 'node:util';
import { copySqliteFile, StoreCopyError } from '@restic-manager/server';
import type { Command } from '../command.js';
import { EXIT } from '../command.js';

const HELP = `Usage: restic-manager db copy --from <sqlite file> [--to <postgres URL>] [--json]

Moves an install from SQLite to PostgreSQL (docs/scale-out.md): stop the server, create a new,
empty PostgreSQL database, copy, then start the server with RM_DATABASE_URL pointing at it.

  --from FILE   the SQLite database of the stopped server ($RM_DATA_DIR/restic-manager.db)
  --to URL      postgres://user@host:5432/db   [RM_DATABASE_URL]
                A password is never taken from the command line (it would be visible in
                /proc/<pid>/cmdline): give it in PGPASSWORD, ~/.pgpass, or RM_DATABASE_URL.
  --json        print the report as JSON (tables, rows, checksums, seconds)

The target is migrated to this version's schema and must be new (no tables); every table is
copied in one transaction, then read back and compared with the source: row count and an
order-independent SHA-256 checksum per table. The source is only read (in one transaction),
and the data directory stays locked meanwhile, so no server can start on it.

Exit status:
  0  copied and verified
  1  refused or failed (server running on the data directory, source schema not current,
     target not empty, verification mismatch, database unreachable); one line says which
  2  usage error`;

/** A URL whose userinfo carries a password (postgres://user:secret@host/db). */
const hasPassword = (url: string): boolean => /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(url) || /[?&]password=/i.test(url);

export const command: Command = {
  summary: 'Database tools: copy an install from SQLite to PostgreSQL (db copy)',
  help: HELP,
  async run(argv) {
    let flags;
    try {
      flags = parseArgs({ args: argv, allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    } catch (e) {
      process.stderr.write(`restic-manager db: ${(e as Error).message} (see --help)\n`);
      return EXIT.usage;
    }
    const { values, positionals } = flags;
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    }
    if (positionals[0] !== 'copy' || positionals.length > 1) {
      process.stderr.write(`restic-manager db: expected the subcommand 'copy'${positionals[0] ? `, got '${positionals.slice(0, 2).join(' ')}'` : ''} (see --help)\n`);
      return EXIT.usage;
    }
    if (!values.from) {
      process.stderr.write('restic-manager db copy: --from: the SQLite file is required\n');
      return EXIT.usage;
    }
    if (values.to && hasPassword(values.to)) {
      process.stderr.write('restic-manager db copy: --to: put no password in the URL on the command line (it is visible in /proc); use PGPASSWORD, ~/.pgpass or RM_DATABASE_URL\n');
      return EXIT.usage;
    }
    const url = values.to ?? process.env.RM_DATABASE_URL;
    if (!url || !/^postgres(ql)?:\/\//i.test(url)) {
      process.stderr.write(`restic-manager db copy: --to: ${url ? 'expected a postgres:// URL' : 'give the PostgreSQL URL (--to or RM_DATABASE_URL)'}\n`);
      return EXIT.usage;
    }
    try {
      const report = await copySqliteFile(values.from, url, values.json ? undefined : (l) => process.stderr.write(`${l}\n`));
      if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(`copied and verified ${report.rows} row(s) in ${report.tables.length} table(s) in ${report.seconds.toFixed(1)} s\n`);
      return EXIT.ok;
    } catch (e) {
      const known = e instanceof StoreCopyError || (e as { code?: string }).code === 'data_dir_locked';
      const msg = (e as Error).message.replace(/(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/gi, '$1:[redacted]@');
      process.stderr.write(`restic-manager db copy: ${known ? '' : 'failed: '}${msg}\n`);
      return EXIT.failed;
    }
  },
};
