import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { dialectOf } from '../store/dialect.js';

/**
 * Migration 19 (issue 16, docs/recoverability.md "Snapshot ledger"): every snapshot each
 * repository ever reported, kept after the snapshot itself is gone (it is the evidence), and the
 * repository's integrity state (the last applied report, its key and config ids, and whether
 * forget/prune is frozen until an admin acknowledges). Rows cascade with their repository row:
 * a repository the server forgets takes its ledger with it. (0017 belongs to another branch.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = dialectOf(db) === 'postgres';
  const bytes = sql.raw(pg ? 'BIGINT' : 'INTEGER');
  await sql`CREATE TABLE snapshot_ledger (
    repo_id TEXT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    snapshot_id TEXT NOT NULL,
    short_id TEXT NOT NULL,
    time TEXT NOT NULL,
    hostname TEXT NOT NULL,
    paths TEXT NOT NULL,
    tree TEXT,
    size_bytes ${bytes},
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    gone_at TEXT,
    removed_by_job_id TEXT,
    acknowledged_at TEXT,
    PRIMARY KEY (repo_id, snapshot_id)
  )`.execute(db);
  await sql`CREATE INDEX snapshot_ledger_gone ON snapshot_ledger(repo_id, gone_at)`.execute(db);
  await sql`CREATE TABLE repository_integrity (
    repo_id TEXT PRIMARY KEY REFERENCES repos(id) ON DELETE CASCADE,
    reported_at TEXT,
    key_ids TEXT,
    config_id TEXT,
    keys_reported_at TEXT,
    keys_changed_at TEXT,
    keys_change TEXT,
    frozen_since TEXT,
    frozen_reason TEXT,
    alert_host_ids TEXT NOT NULL DEFAULT '[]'
  )`.execute(db);
}
