import type { BackendCredentials } from '@restic-manager/protocol';
import { SecretBox } from '../crypto/secret-box.js';
import { HostRepository } from '../repositories/host.repository.js';
import { RepoRepository } from '../repositories/repo.repository.js';
import { openRepository } from '../services/repository-config.js';
import type { Db } from '../store/db.js';

/*
 * The break-glass export: every repository's location, password and backend credentials as one
 * JSON document (sealed to an age recipient by the caller), so an operator can reach the backups
 * with plain restic when the server is gone. `restic_env` holds the environment restic reads;
 * backends that need a file (GCS key, SFTP key, rclone config) say so in `note`.
 */

export const EXPORT_FORMAT = 'restic-manager-repositories/1';

export interface ExportedRepository {
  id: string;
  name: string;
  engine: string;
  url: string;
  /** null: the row has no password stored (not usable). */
  password: string | null;
  credentials: BackendCredentials | null;
  tls_ca_pem: string | null;
  /** Names of the hosts that use it (primary or linked). */
  hosts: string[];
  /** `env $(…) restic snapshots` ready: RESTIC_REPOSITORY, RESTIC_PASSWORD and the backend's keys. */
  restic_env: Record<string, string>;
  note: string | null;
}

export interface RepositoryExport {
  format: typeof EXPORT_FORMAT;
  created_at: string;
  repositories: ExportedRepository[];
}

/** restic's environment for a repository (restic docs, "Preparing a new repository"). */
export function resticEnv(url: string, password: string | null, c: BackendCredentials | null): { env: Record<string, string>; note: string | null } {
  const env: Record<string, string> = { RESTIC_REPOSITORY: url };
  if (password !== null) env.RESTIC_PASSWORD = password;
  let note: string | null = null;
  switch (c?.backend) {
    case 'rest':
      if (c.username && c.password) {
        // restic 0.14 has no RESTIC_REST_USERNAME: the login goes into the URL.
        const u = new URL(url.slice('rest:'.length));
        u.username = encodeURIComponent(c.username);
        u.password = encodeURIComponent(c.password);
        env.RESTIC_REPOSITORY = `rest:${u.toString()}`;
      }
      break;
    case 's3':
      env.AWS_ACCESS_KEY_ID = c.access_key_id;
      env.AWS_SECRET_ACCESS_KEY = c.secret_access_key;
      if (c.session_token) env.AWS_SESSION_TOKEN = c.session_token;
      if (c.region) env.AWS_DEFAULT_REGION = c.region;
      if (c.path_style) note = 'add -o s3.bucket-lookup=path to restic commands';
      break;
    case 'b2':
      env.B2_ACCOUNT_ID = c.account_id;
      env.B2_ACCOUNT_KEY = c.account_key;
      break;
    case 'azure':
      env.AZURE_ACCOUNT_NAME = c.account_name;
      if (c.account_key) env.AZURE_ACCOUNT_KEY = c.account_key;
      if (c.sas_token) env.AZURE_ACCOUNT_SAS = c.sas_token;
      break;
    case 'gcs':
      env.GOOGLE_PROJECT_ID = c.project_id;
      note = 'write credentials.service_account_json to a 0600 file and set GOOGLE_APPLICATION_CREDENTIALS to its path';
      break;
    case 'sftp':
      note = 'write credentials.private_key to a 0600 file and credentials.known_hosts to a known_hosts file, then pass -o sftp.command="ssh -i <key> -o UserKnownHostsFile=<file> …"';
      break;
    case 'rclone':
      note = `write an rclone.conf section of type ${c.remote_type} with credentials.options`;
      break;
    default:
      break;
  }
  return { env, note };
}

/**
 * Reads and decrypts every repository. Throws `secret cannot be decrypted` when `key` is not the
 * key this database was sealed with.
 */
export async function exportRepositories(db: Db, key: Buffer, now: Date = new Date()): Promise<RepositoryExport> {
  const repos = new RepoRepository(db);
  const hosts = new HostRepository(db);
  const box = new SecretBox(key);
  const out: ExportedRepository[] = [];
  for (let offset = 0; ; offset += 200) {
    const { rows } = await repos.list(200, offset);
    const links = await repos.linksOfRepos(rows.map((r) => r.id));
    for (const row of rows) {
      const o = await openRepository(repos, box, row);
      const names: string[] = [];
      for (const l of links.filter((x) => x.repo_id === row.id)) {
        const h = await hosts.findById(l.host_id);
        if (h) names.push(h.name);
      }
      const { env, note } = resticEnv(row.url, o.password, o.credentials);
      out.push({ id: row.id, name: row.name, engine: row.engine, url: row.url, password: o.password, credentials: o.credentials, tls_ca_pem: row.tls_ca_pem, hosts: names, restic_env: env, note });
    }
    if (rows.length < 200) break;
  }
  return { format: EXPORT_FORMAT, created_at: now.toISOString(), repositories: out };
}

