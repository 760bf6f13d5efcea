import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/*
 * Migration 16: repositories as their own objects (issue 15, docs/repositories.md).
 * - repos gain `engine` (restic | rustic), `backend` (from the URL), `credentials_enc` (the whole
 *   BackendCredentials JSON sealed with the secret box, AAD `repository:<id>`), `tls_ca_pem` and
 *   `updated_at`.
 * - `host_repositories` links hosts and repositories (one repository may serve several hosts;
 *   `is_primary` = 1 marks the one `hosts.repo_id` names).
 * - `schedules.repository_id`, `jobs.repository_id`: the repository a schedule or job targets;
 *   null = the host's primary.
 *
 * Existing rows lose nothing: every host's repo becomes its linked primary row, its backend is
 * derived from its URL (NULL when restic would not recognise the prefix), and its REST login
 * stays in the `credentials` row it was in: the server reads it from there while
 * `credentials_enc` is NULL (the migration has no key to re-seal it; the first edit of the
 * repository moves it). The repository password always stays in `credentials` (password_secret_id).
 * Plain TEXT/INTEGER columns: the same SQL on SQLite and PostgreSQL.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE repos ADD COLUMN engine TEXT NOT NULL DEFAULT 'restic'`.execute(db);
  await sql`ALTER TABLE repos ADD COLUMN backend TEXT`.execute(db);
  await sql`ALTER TABLE repos ADD COLUMN credentials_enc TEXT`.execute(db);
  await sql`ALTER TABLE repos ADD COLUMN tls_ca_pem TEXT`.execute(db);
  await sql`ALTER TABLE repos ADD COLUMN updated_at TEXT`.execute(db);
  await sql`ALTER TABLE schedules ADD COLUMN repository_id TEXT`.execute(db);
  await sql`ALTER TABLE jobs ADD COLUMN repository_id TEXT`.execute(db);
  await sql`CREATE TABLE host_repositories (
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    repo_id TEXT NOT NULL REFERENCES repos(id),
    is_primary INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (host_id, repo_id)
  )`.execute(db);
  await sql`CREATE INDEX host_repositories_repo ON host_repositories(repo_id)`.execute(db);
  await sql`CREATE INDEX schedules_repository ON schedules(repository_id)`.execute(db);
  await sql`INSERT INTO host_repositories (host_id, repo_id, is_primary, created_at)
    SELECT h.id, h.repo_id, 1, h.created_at FROM hosts h JOIN repos r ON r.id = h.repo_id`.execute(db);
  // The backend by URL prefix (a frozen copy of protocol's backendOfUrl as of this migration).
  for (const [prefix, backend] of PREFIXES) {
    await sql`UPDATE repos SET backend = ${backend} WHERE backend IS NULL AND substr(url, 1, ${prefix.length}) = ${prefix} AND length(url) > ${prefix.length}`.execute(db);
  }
  await sql`UPDATE repos SET backend = 'local' WHERE backend IS NULL AND substr(url, 1, 1) = '/'`.execute(db);
}

const PREFIXES: readonly (readonly [string, string])[] = [
  ['local:', 'local'], ['rest:', 'rest'], ['s3:', 's3'], ['b2:', 'b2'], ['azure:', 'azure'],
  ['gs:', 'gcs'], ['sftp:', 'sftp'], ['rclone:', 'rclone'],
];
