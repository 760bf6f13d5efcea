import { spawn } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SQLITE_FILE } from './store-access.js';

/*
 * A consistent copy of the control plane's database for `restic-manager server backup`:
 * SQLite through its online backup API (pages copied while the server keeps writing; the copy
 * is one point in time), PostgreSQL through `pg_dump --format=custom`. The password of a
 * PostgreSQL URL goes to PGPASSWORD in the child's environment, never into argv.
 */

/** File names inside a control-plane backup. */
export const DUMP_FILES = { sqlite: SQLITE_FILE, postgres: 'postgres.dump' } as const;

/** Copies the data directory's SQLite database to `dest` (mode 0600); returns the page count copied. */
export async function backupSqlite(dataDir: string, dest: string): Promise<number> {
  const file = path.join(dataDir, SQLITE_FILE);
  if (!existsSync(file)) throw new Error(`no database at ${file}: is RM_DATA_DIR (--data-dir) the server's data directory?`);
  const src = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const r = await src.backup(dest);
    chmodSync(dest, 0o600);
    return r.totalPages;
  } finally {
    src.close();
  }
}

/** `PRAGMA integrity_check` of a SQLite file; throws naming the file when it is not "ok". */
export function checkSqlite(file: string): void {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const r = db.pragma('integrity_check', { simple: true }) as string;
    if (r !== 'ok') throw new Error(`${file} fails SQLite's integrity check: ${String(r).slice(0, 200)}`);
  } finally {
    db.close();
  }
}

/** Splits a postgres:// URL into one without the password (for argv) and the password (for env). */
export function pgConnection(url: string): { dbname: string; env: Record<string, string> } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const q = u.searchParams.get('password');
  u.searchParams.delete('password');
  const pw = password || q || '';
  return { dbname: u.toString(), env: pw ? { PGPASSWORD: pw } : {} };
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 4000) err += b.toString('utf8');
    });
    child.on('error', (e) => reject(new Error(`${cmd} could not start: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${err.trim().slice(0, 1000)}`))));
  });
}

/** `pg_dump --format=custom` of the server's PostgreSQL database into `dest`. */
export async function dumpPostgres(url: string, dest: string): Promise<void> {
  const c = pgConnection(url);
  await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', '--file', dest, '--dbname', c.dbname], c.env);
  chmodSync(dest, 0o600);
}

/** `pg_restore --clean --if-exists` of a dump into the (new, empty or old) database at `url`. */
export async function restorePostgres(url: string, file: string): Promise<void> {
  const c = pgConnection(url);
  await run('pg_restore', ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--exit-on-error', '--dbname', c.dbname, file], c.env);
}
