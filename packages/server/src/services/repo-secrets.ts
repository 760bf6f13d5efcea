import { randomUUID } from 'node:crypto';
import { appendOnlyDefault, backendOfUrl } from '@restic-manager/protocol';
import type { RepositoryInput } from '@restic-manager/protocol';
import type { SecretBox } from '../crypto/secret-box.js';
import { generatePassword } from '../crypto/tokens.js';
import { RepoRepository } from '../repositories/repo.repository.js';
import type { Db } from '../store/db.js';
import { iso } from './context.js';

/** The sealed content of an enrollment token / a host's repository credentials. */
export interface RepoSecrets {
  url: string;
  password: string;
  rest_username?: string | undefined;
  rest_password?: string | undefined;
  append_only: boolean;
}

/** What the operator sees once: generated secrets and the htpasswd line. */
export interface GeneratedSecrets {
  generated_password?: string;
  generated_rest_password?: string;
  htpasswd_line?: string;
}

/** Fills in missing passwords (24 random bytes, URL-safe) and append_only's default, and says what was generated. */
export function completeSecrets(r: RepositoryInput): { secrets: RepoSecrets; shown: GeneratedSecrets } {
  const pw = r.password ? undefined : generatePassword();
  const rest = r.rest_username && !r.rest_password ? generatePassword() : undefined;
  const secrets: RepoSecrets = {
    url: r.url, password: r.password ?? pw ?? '', rest_username: r.rest_username, rest_password: r.rest_password ?? rest,
    append_only: r.append_only ?? appendOnlyDefault(r.url, r.rest_username),
  };
  const shown: GeneratedSecrets = {
    ...(pw ? { generated_password: pw } : {}),
    ...(rest ? { generated_rest_password: rest, htpasswd_line: `echo '${rest}' | htpasswd -B -i /path/to/.htpasswd ${r.rest_username}` } : {}),
  };
  return { secrets, shown };
}

export function repoKind(url: string): 'rest' | 's3' | 'local' | 'other' {
  if (url.startsWith('rest:')) return 'rest';
  if (url.startsWith('s3:')) return 's3';
  if (url.startsWith('/') || url.startsWith('local:')) return 'local';
  return 'other';
}

/**
 * Writes a repo row and its sealed credential rows (inside the caller's transaction `tx`).
 * Each ciphertext is bound to its row id, so it cannot be moved to another row.
 */
export async function storeRepoSecrets(tx: Db, box: SecretBox, s: RepoSecrets, name: string, now: number): Promise<string> {
  const repos = new RepoRepository(tx);
  const pwId = randomUUID();
  await repos.insertCredential({ id: pwId, kind: 'repo_password', username: null, secret_enc: box.seal(s.password, `credential:${pwId}`), rotated_at: iso(now) });
  let restId: string | null = null;
  if (s.rest_username && s.rest_password) {
    restId = randomUUID();
    await repos.insertCredential({ id: restId, kind: 'rest', username: s.rest_username, secret_enc: box.seal(s.rest_password, `credential:${restId}`), rotated_at: iso(now) });
  }
  const repoId = randomUUID();
  await repos.insert({
    id: repoId, name, url: s.url, kind: repoKind(s.url), credential_id: restId, password_secret_id: pwId,
    size_bytes: null, snapshot_count: null, dedup_ratio: null, last_check_at: null, last_check_status: null,
    lock_state: null, append_only: s.append_only ? 1 : 0, credential_rotated_at: iso(now), created_at: iso(now),
    engine: 'restic', backend: backendOfUrl(s.url), updated_at: iso(now),
  });
  return repoId;
}

/**
 * Makes `newRepoId` the host's primary repository link (the caller sets hosts.repo_id) and
 * drops the replaced primary's link; the replaced repository row goes when nothing uses it.
 */
export async function replacePrimary(repos: RepoRepository, hostId: string, oldRepoId: string | null, newRepoId: string, now: number): Promise<void> {
  await repos.link(hostId, newRepoId, true, iso(now));
  if (oldRepoId && oldRepoId !== newRepoId) {
    await repos.unlink(hostId, oldRepoId);
    await repos.deleteUnreferenced(oldRepoId);
  }
}
