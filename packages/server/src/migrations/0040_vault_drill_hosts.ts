import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 40 (issue 16, docs/recoverability.md "Vault drills"): `vault_drill_hosts`, one row
 * per host that an admin marked trusted for vault drills or whose agent reported an age identity
 * at hello: the mark (who, when) and the identity's public recipient or why the agent refused
 * its identity file. Never a secret: the identity stays on the trusted host.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE vault_drill_hosts (
    host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    trusted INTEGER NOT NULL DEFAULT 0,
    trusted_by TEXT,
    trusted_at TEXT,
    identity_recipient TEXT,
    identity_error TEXT,
    identity_reported_at TEXT
  )`.execute(db);
}
