import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 41 (issue 17): bus messages too large for one PostgreSQL NOTIFY (8000 bytes) — a
 * replica's list of the agents it holds, a big schedule set — are stored here, sealed, and the
 * NOTIFY names the row. Rows are deleted a minute after they were written.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE cluster_messages (id TEXT PRIMARY KEY, sealed TEXT NOT NULL, created_at TEXT NOT NULL)`.execute(db);
  await sql`CREATE INDEX cluster_messages_created ON cluster_messages (created_at)`.execute(db);
}
