import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Migration 13: the host's last vault backup (decision server-0008), kept apart from the restic
 * `last_backup_at/_status` because a vault is another target with another restore path. Filled
 * from the latest finished `vault_backup` job already stored, so an upgraded server shows vault
 * hosts as backed up at once. Plain TEXT columns and a correlated subquery: the same SQL on
 * SQLite and PostgreSQL, no dialect branch.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE hosts ADD COLUMN last_vault_backup_at TEXT`.execute(db);
  await sql`ALTER TABLE hosts ADD COLUMN last_vault_backup_status TEXT`.execute(db);
  const latest = (col: 'finished_at' | 'status') => sql`(SELECT j.${sql.ref(col)} FROM jobs j
    WHERE j.host_id = hosts.id AND j.kind = 'vault_backup' AND j.finished_at IS NOT NULL
      AND j.status IN ('succeeded', 'failed', 'cancelled')
    ORDER BY j.finished_at DESC, j.id DESC LIMIT 1)`;
  await sql`UPDATE hosts SET last_vault_backup_at = ${latest('finished_at')}, last_vault_backup_status = ${latest('status')}`.execute(db);
}
