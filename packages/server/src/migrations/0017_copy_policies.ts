import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/*
 * Migration 17: copy policies (3-2-1, issue 15, docs/copies.md).
 * - `copy_policies`: a copy from a source repository into a target repository of the same
 *   engine, for one host (`host_id`) or every host linked to the source (NULL), after each
 *   backup (`after_backup`) or on the server's clock (`schedule`, `cron_expr` in `time_zone`).
 * - `copy_policy_runs`: per policy and host, the last copy job and its outcome (what the 3-2-1
 *   status, the copy alerts and the copy metrics read). Deleting a policy or a host drops its rows.
 * Plain TEXT/INTEGER columns: the same SQL on SQLite and PostgreSQL.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE copy_policies (
    id TEXT PRIMARY KEY,
    source_repository_id TEXT NOT NULL REFERENCES repos(id),
    target_repository_id TEXT NOT NULL REFERENCES repos(id),
    host_id TEXT REFERENCES hosts(id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    cron_expr TEXT,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`.execute(db);
  await sql`CREATE INDEX copy_policies_source ON copy_policies(source_repository_id)`.execute(db);
  await sql`CREATE INDEX copy_policies_target ON copy_policies(target_repository_id)`.execute(db);
  await sql`CREATE TABLE copy_policy_runs (
    policy_id TEXT NOT NULL REFERENCES copy_policies(id) ON DELETE CASCADE,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    last_job_id TEXT,
    last_copy_at TEXT,
    last_copy_status TEXT,
    last_success_at TEXT,
    last_error TEXT,
    PRIMARY KEY (policy_id, host_id)
  )`.execute(db);
  await sql`CREATE INDEX copy_policy_runs_job ON copy_policy_runs(last_job_id)`.execute(db);
}
