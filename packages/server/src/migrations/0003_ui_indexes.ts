import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 3: indexes for the fleet-wide lists the web UI and /api/jobs page through
 * (bench/ui.bench.ts: 200,000 jobs). Newest-first job lists and "jobs in the last 24 h" read
 * jobs by created_at (optionally within a status or kind); a host's snapshots by time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at, id)`,
    `CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs(status, created_at, id)`,
    `CREATE INDEX IF NOT EXISTS jobs_kind_created ON jobs(kind, created_at, id)`,
    `CREATE INDEX IF NOT EXISTS snapshots_host_time ON snapshots(host_id, time)`,
  ];
  for (const s of statements) await sql.raw(s).execute(db);
}
