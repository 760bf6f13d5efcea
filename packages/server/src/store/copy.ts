import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3Ctor from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { MIGRATIONS } from '../migrations/index.js';
import { lockDataDir } from './data-dir-lock.js';
import type { Db } from './db.js';
import { migrate } from './db.js';
import { openPgStore } from './pg.js';

/*
 * `restic-manager db copy` (issue 17): moves an install from its SQLite file to PostgreSQL.
 * The target is migrated to the same schema, must be empty, and receives every table in one
 * transaction, parents before children (the SQLite foreign keys give the order). A verification
 * pass then reads both sides again and compares, per table, the row count and a checksum: the
 * sum (mod 2^256) of the SHA-256 of each row in a canonical form (columns sorted by name), which
 * does not depend on the order either database returns rows in. Reads are paged; memory stays
 * bounded whatever the size of the install.
 */

export interface TableReport {
  table: string;
  rows: number;
  /** Hex of the order-independent checksum, equal on both sides. */
  checksum: string;
}

export interface CopyReport {
  tables: TableReport[];
  rows: number;
  seconds: number;
}

export class StoreCopyError extends Error {}

/** Rows per INSERT (PostgreSQL takes at most 65,535 parameters per statement). */
const maxRowsPerInsert = (columns: number): number => Math.max(1, Math.min(1000, Math.floor(60_000 / Math.max(1, columns))));
/** Rows per page when reading the target back. */
const PAGE = 2000;
const MOD = 1n << 256n;

interface TableInfo {
  name: string;
  columns: string[];
  pk: string[];
}

/** The application tables of a SQLite store (not Kysely's migration bookkeeping), parents first. */
export function sqliteTables(sqlite: BetterSqlite3.Database): TableInfo[] {
  const names = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  const info = new Map<string, TableInfo & { parents: string[] }>();
  for (const name of names) {
    const cols = sqlite.prepare(`SELECT name, pk FROM pragma_table_info(?)`).all(name) as { name: string; pk: number }[];
    const parents = (sqlite.prepare(`SELECT DISTINCT "table" AS t FROM pragma_foreign_key_list(?)`).all(name) as { t: string }[]).map((r) => r.t).filter((t) => t !== name);
    info.set(name, { name, columns: cols.map((c) => c.name), pk: cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name), parents });
  }
  const out: TableInfo[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string): void => {
    if (state.get(n) === 'done' || !info.has(n)) return;
    if (state.get(n) === 'visiting') throw new StoreCopyError(`the foreign keys of table ${n} form a cycle; the copy cannot order it`);
    state.set(n, 'visiting');
    for (const p of info.get(n)!.parents) visit(p);
    state.set(n, 'done');
    const { parents: _p, ...t } = info.get(n)!;
    out.push(t);
  };
  for (const n of names) visit(n);
  return out;
}

/** One row in a canonical text: columns by name, numbers as numbers, so both databases agree. */
function canonical(row: Record<string, unknown>, columns: readonly string[]): string {
  const o: unknown[] = [];
  for (const c of columns) {
    const v = row[c];
    o.push(typeof v === 'bigint' ? Number(v) : v === undefined ? null : v);
  }
  return JSON.stringify(o);
}

class Checksum {
  private sum = 0n;
  rows = 0;
  add(text: string): void {
    this.sum = (this.sum + BigInt(`0x${createHash('sha256').update(text).digest('hex')}`)) % MOD;
    this.rows++;
  }
  hex(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}

async function schemaOf(db: Db): Promise<string> {
  const r = await sql<{ s: string }>`SELECT current_schema() AS s`.execute(db);
  return r.rows[0]?.s ?? '?';
}

/**
 * Copies every row of the SQLite store `sqlite` into the PostgreSQL store `to` and verifies it.
 * Refuses (StoreCopyError, nothing written) a source whose schema is not current and a target
 * holding any row. `onProgress` hears each table as it is copied and verified.
 */
export async function copyStore(sqlite: BetterSqlite3.Database, to: Db, onProgress: (line: string) => void = () => undefined): Promise<CopyReport> {
  const t0 = Date.now();
  const src = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'").get() as { name: string } | undefined)
    ? (sqlite.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((r) => r.name)
    : [];
  const latest = Object.keys(MIGRATIONS).sort();
  if (src.join() !== latest.join()) {
    const missing = latest.filter((m) => !src.includes(m));
    throw new StoreCopyError(missing.length
      ? `the source database is not at the current schema (missing migrations ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}): start this version's server on it once, stop it, then copy`
      : 'the source database has migrations this version does not know: copy it with the version that created it');
  }
  // Only a new database: one a server (or an earlier copy) has migrated already is in use.
  const existing = await sql<{ n: number }>`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()`.execute(to);
  if (Number(existing.rows[0]?.n ?? 0) > 0) {
    throw new StoreCopyError(`the target database is not empty (${Number(existing.rows[0]?.n)} table(s) in schema ${await schemaOf(to)}): copy only into a new, empty database (createdb), before any server has started on it`);
  }
  await migrate(to);
  const tables = sqliteTables(sqlite);

  const sums = new Map<string, Checksum>();
  await to.transaction().execute(async (tx) => {
    // Rows a migration seeded into the new schema: the source has its own.
    for (const t of [...tables].reverse()) await sql`DELETE FROM ${sql.table(t.name)}`.execute(tx);
    for (const t of tables) {
      const sum = new Checksum();
      const per = maxRowsPerInsert(t.columns.length);
      let batch: Record<string, unknown>[] = [];
      const flush = async (): Promise<void> => {
        if (!batch.length) return;
        await tx.insertInto(t.name as never).values(batch as never).execute();
        batch = [];
      };
      for (const row of sqlite.prepare(`SELECT * FROM "${t.name.replace(/"/g, '""')}"`).iterate() as IterableIterator<Record<string, unknown>>) {
        sum.add(canonical(row, t.columns));
        batch.push(row);
        if (batch.length >= per) await flush();
      }
      await flush();
      sums.set(t.name, sum);
      onProgress(`copied ${t.name}: ${sum.rows} row(s)`);
    }
    // Identity columns (the audit id) continue after the copied ids.
    const ids = await sql<{ table_name: string; column_name: string }>`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'`.execute(tx);
    for (const c of ids.rows) {
      await sql`SELECT setval(pg_get_serial_sequence(${c.table_name}, ${c.column_name}), GREATEST(COALESCE((SELECT max(${sql.ref(c.column_name)}) FROM ${sql.table(c.table_name)}), 0), 1), COALESCE((SELECT max(${sql.ref(c.column_name)}) FROM ${sql.table(c.table_name)}), 0) > 0)`.execute(tx);
    }
  });

  const report: TableReport[] = [];
  for (const t of tables) {
    const mine = sums.get(t.name)!;
    const theirs = await readBack(to, t);
    if (theirs.rows !== mine.rows || theirs.hex() !== mine.hex()) {
      throw new StoreCopyError(`verification failed for table ${t.name}: ${mine.rows} row(s) read from SQLite, ${theirs.rows} in PostgreSQL${theirs.rows === mine.rows ? ' with different contents' : ''}; the target is left as it is for inspection — drop and recreate it before copying again`);
    }
    report.push({ table: t.name, rows: mine.rows, checksum: mine.hex() });
    onProgress(`verified ${t.name}: ${mine.rows} row(s), checksum ${mine.hex().slice(0, 16)}…`);
  }
  return { tables: report, rows: report.reduce((a, t) => a + t.rows, 0), seconds: (Date.now() - t0) / 1000 };
}

/** The target table's checksum, read in pages (keyset on the primary key; offset pages without one). */
async function readBack(to: Db, t: TableInfo): Promise<Checksum> {
  const sum = new Checksum();
  const order = (t.pk.length ? t.pk : t.columns).map((c) => sql.ref(c));
  let last: unknown[] | null = null;
  for (let offset = 0; ; offset += PAGE) {
    let q = sql<Record<string, unknown>>`SELECT * FROM ${sql.table(t.name)}`;
    if (t.pk.length && last) q = sql<Record<string, unknown>>`SELECT * FROM ${sql.table(t.name)} WHERE (${sql.join(order)}) > (${sql.join(last)})`;
    const page = await sql<Record<string, unknown>>`${q} ORDER BY ${sql.join(order)} LIMIT ${PAGE}${t.pk.length ? sql`` : sql` OFFSET ${offset}`}`.execute(to);
    for (const row of page.rows) sum.add(canonical(row, t.columns));
    if (page.rows.length < PAGE) return sum;
    const end = page.rows[page.rows.length - 1]!;
    last = t.pk.map((c) => end[c]);
  }
}

/**
 * `db copy`: the SQLite file of a stopped server into a new PostgreSQL database. Holds the data
 * directory's lock meanwhile (a server running on it is refused, naming its PID, and none can
 * start), reads the source in one read transaction (a consistent snapshot), never writes to it.
 */
export async function copySqliteFile(file: string, url: string, onProgress?: (line: string) => void): Promise<CopyReport> {
  if (!existsSync(file)) throw new StoreCopyError(`--from: no such file ${file}`);
  const lock = lockDataDir(path.dirname(path.resolve(file)));
  const sqlite = new BetterSqlite3Ctor(file, { readonly: true, fileMustExist: true });
  const pg = openPgStore(url, 4);
  try {
    sqlite.prepare('BEGIN').run();
    try {
      return await copyStore(sqlite, pg.db, onProgress);
    } finally {
      sqlite.prepare('COMMIT').run();
    }
  } finally {
    sqlite.close();
    await pg.close();
    lock.release();
  }
}
