import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { dialectOf } from '../store/dialect.js';

/**
 * Migration 1: the §5 domain model. SQLite runs the statements as written (never change them);
 * PostgreSQL gets them through `forPostgres` (server decision 7).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `CREATE TABLE users (
      id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('admin','operator','viewer')),
      created_at TEXT NOT NULL, last_login_at TEXT)`,
    `CREATE TABLE sessions (
      id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      csrf_token TEXT NOT NULL, created_at TEXT NOT NULL, last_seen_at TEXT NOT NULL, expires_at TEXT NOT NULL,
      ip TEXT, ua TEXT)`,
    `CREATE INDEX sessions_user ON sessions(user_id)`,
    `CREATE TABLE credentials (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('rest','repo_password')), username TEXT,
      secret_enc TEXT NOT NULL, rotated_at TEXT NOT NULL)`,
    `CREATE TABLE repos (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('rest','s3','local','other')),
      credential_id TEXT REFERENCES credentials(id) ON DELETE SET NULL,
      password_secret_id TEXT REFERENCES credentials(id) ON DELETE SET NULL,
      size_bytes INTEGER, snapshot_count INTEGER, dedup_ratio REAL, last_check_at TEXT, last_check_status TEXT,
      lock_state TEXT, append_only INTEGER NOT NULL DEFAULT 1, credential_rotated_at TEXT, created_at TEXT NOT NULL)`,
    `CREATE TABLE hosts (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, hostname TEXT, os TEXT, arch TEXT, agent_version TEXT,
      restic_version TEXT, protocol_version INTEGER, enrolled_at TEXT, last_seen_at TEXT,
      status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('online','offline','degraded','pending')),
      repo_id TEXT REFERENCES repos(id) ON DELETE SET NULL, tags TEXT NOT NULL DEFAULT '[]',
      current_job_id TEXT, last_backup_at TEXT, last_backup_status TEXT, repo_size_bytes INTEGER,
      snapshot_count INTEGER, open_alert_count INTEGER NOT NULL DEFAULT 0,
      schedule_version INTEGER NOT NULL DEFAULT 0, applied_schedule_version INTEGER,
      agent_token_hash TEXT UNIQUE, repo_initialised_at TEXT, created_at TEXT NOT NULL)`,
    `CREATE TABLE enrollment_tokens (
      id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,
      host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE, blob_enc TEXT,
      expires_at TEXT NOT NULL, used_at TEXT, created_by TEXT, created_at TEXT NOT NULL)`,
    `CREATE TABLE schedules (
      id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
      kind TEXT NOT NULL CHECK (kind IN ('backup','forget','prune','check')), cron_expr TEXT NOT NULL,
      time_zone TEXT, enabled INTEGER NOT NULL DEFAULT 1, paths TEXT NOT NULL, excludes TEXT NOT NULL,
      tags TEXT NOT NULL, retention_policy TEXT, options TEXT NOT NULL, pre_hook_enc TEXT, post_hook_enc TEXT,
      run_as TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
    `CREATE INDEX schedules_host ON schedules(host_id)`,
    `CREATE TABLE jobs (
      id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE, kind TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
      schedule_id TEXT, actor_kind TEXT NOT NULL, actor_id TEXT, args_enc TEXT, created_at TEXT NOT NULL,
      started_at TEXT, finished_at TEXT, exit_code INTEGER, stats TEXT, error TEXT, error_kind TEXT,
      progress TEXT, progress_seq INTEGER)`,
    `CREATE INDEX jobs_host_created ON jobs(host_id, created_at)`,
    `CREATE INDEX jobs_status ON jobs(status)`,
    `CREATE TABLE job_logs (
      job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq INTEGER NOT NULL, ts TEXT NOT NULL,
      stream TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (job_id, seq))`,
    `CREATE TABLE snapshots (
      id TEXT NOT NULL, host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE, repo_id TEXT,
      short_id TEXT NOT NULL, time TEXT NOT NULL, hostname TEXT NOT NULL, paths TEXT NOT NULL, tags TEXT NOT NULL,
      size_bytes INTEGER, file_count INTEGER, PRIMARY KEY (host_id, id))`,
    `CREATE TABLE alerts (
      id TEXT PRIMARY KEY, host_id TEXT REFERENCES hosts(id) ON DELETE CASCADE, kind TEXT NOT NULL,
      severity TEXT NOT NULL, message TEXT NOT NULL, created_at TEXT NOT NULL, acknowledged_at TEXT, resolved_at TEXT)`,
    `CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT, actor TEXT NOT NULL, actor_name TEXT,
      action TEXT NOT NULL, target_kind TEXT, target_id TEXT, ts TEXT NOT NULL, payload TEXT NOT NULL)`,
    `CREATE INDEX audit_ts ON audit_log(ts)`,
    `CREATE INDEX audit_target ON audit_log(target_kind, target_id)`,
  ];
  const pg = dialectOf(db) === 'postgres';
  for (const s of statements) await sql.raw(pg ? forPostgres(s) : s).execute(db);
  if (pg) await sql`CREATE UNIQUE INDEX users_username_lower ON users (lower(username))`.execute(db);
}

/**
 * The same statement for PostgreSQL: 64-bit integers (byte counts overflow INTEGER there), an
 * identity column for the audit id, DOUBLE PRECISION for REAL, and the case-insensitive
 * username uniqueness as an index on lower(username) (created after the table).
 */
function forPostgres(s: string): string {
  return s
    .replace('id INTEGER PRIMARY KEY AUTOINCREMENT', 'id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')
    .replace('username TEXT NOT NULL UNIQUE COLLATE NOCASE', 'username TEXT NOT NULL')
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\bREAL\b/g, 'DOUBLE PRECISION');
}
