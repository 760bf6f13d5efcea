import type { BackendCredentials, RepositoryBackend, RepositoryConfig } from '@restic-manager/protocol';
import { BackendCredentials as BackendCredentialsSchema, RepositoryBackend as BackendSchema } from '@restic-manager/protocol';
import type { SecretBox } from '../crypto/secret-box.js';
import type { RepoRepository, RepoRow } from '../repositories/repo.repository.js';

/*
 * Reading a repository's secrets (migration 0016, docs/repositories.md "Storage"). The password
 * lives in its `credentials` row (password_secret_id, AAD `credential:<row id>`); the backend
 * credentials in `repos.credentials_enc` (AAD `repository:<repo id>`). A repository migrated
 * from before 0016 may still hold its REST login in the legacy `credentials` row of
 * `credential_id`: it is read from there until the repository's credentials are next replaced.
 */

export const credentialsAad = (repoId: string): string => `repository:${repoId}`;

/** The stored backend, or null for a location restic-manager does not recognise. */
export function backendOf(row: RepoRow): RepositoryBackend | null {
  const b = BackendSchema.safeParse(row.backend);
  return b.success ? b.data : null;
}

export interface OpenedRepository {
  row: RepoRow;
  backend: RepositoryBackend | null;
  password: string | null;
  /** null: none stored, and the backend cannot do without. */
  credentials: BackendCredentials | null;
}

/** Decrypts a repository's password and credentials. Throws only on a wrong key or a tampered row. */
export async function openRepository(repos: RepoRepository, box: SecretBox, row: RepoRow): Promise<OpenedRepository> {
  const backend = backendOf(row);
  const pw = row.password_secret_id ? await repos.findCredential(row.password_secret_id) : undefined;
  const password = pw ? box.open(pw.secret_enc, `credential:${pw.id}`) : null;
  let credentials: BackendCredentials | null = null;
  if (row.credentials_enc) {
    credentials = BackendCredentialsSchema.parse(box.openJson<unknown>(row.credentials_enc, credentialsAad(row.id)));
  } else if (row.credential_id) {
    const rest = await repos.findCredential(row.credential_id);
    if (rest) credentials = { backend: 'rest', ...(rest.username ? { username: rest.username } : {}), password: box.open(rest.secret_enc, `credential:${rest.id}`) };
  } else if (backend === 'local' || backend === 'rest') {
    credentials = { backend };
  }
  return { row, backend, password, credentials };
}

/** The agent's view of a repository; null when it lacks a password or credentials (not usable yet). */
export function repositoryConfig(o: OpenedRepository): RepositoryConfig | null {
  if (!o.password || !o.credentials) return null;
  return {
    id: o.row.id, name: o.row.name.slice(0, 128), engine: o.row.engine, url: o.row.url, password: o.password, credentials: o.credentials,
    ...(o.row.tls_ca_pem ? { tls_ca_pem: o.row.tls_ca_pem } : {}),
  };
}

/** The RepositoryConfig of one repository, or null when it does not exist or is not usable. */
export async function repositoryConfigOf(repos: RepoRepository, box: SecretBox, repoId: string): Promise<RepositoryConfig | null> {
  const row = await repos.findById(repoId);
  return row ? repositoryConfig(await openRepository(repos, box, row)) : null;
}
