import { readIfExists, writeFileAtomic } from './atomic.js';
import { StateError } from './errors.js';
import { seal, unsealOrFail } from './sealed.js';
import type { SealKind } from './sealed.js';
import type { RepositoryConfig } from '@restic-manager/protocol';

/** Repository credentials for routine jobs, as delivered by `config.update` (spec §7.3). */
export interface RepoSecrets {
  repository: string;
  password: string;
  rest_username?: string;
  rest_password?: string;
  /**
   * The repositories this host's schedules use (`config.update.repositories`, issue 15), with
   * their backend credentials. Absent from files written before issue 15; those still load.
   * Checked field by field (protocol schema) when a job uses one.
   */
  repositories?: RepositoryConfig[];
}

const SECRETS: SealKind = { magic: Buffer.from('RMSEC1\n', 'utf8'), aad: Buffer.from('restic-manager agent secrets v1', 'utf8') };

/**
 * secrets.enc layout: MAGIC | 12-byte nonce | 16-byte GCM tag | AES-256-GCM ciphertext of the JSON
 * (state/sealed.ts). A fresh nonce per write; the key lives in agent.yaml (same 0600 trust
 * boundary, spec §7.3).
 */
export function encryptSecrets(key: Buffer, secrets: RepoSecrets): Buffer {
  return seal(SECRETS, key, JSON.stringify(secrets));
}

export function decryptSecrets(key: Buffer, blob: Buffer, file = 'secrets.enc'): RepoSecrets {
  const corrupt = (why: string): StateError =>
    new StateError('state_corrupt', `${file} cannot be read (${why}); the server re-sends credentials on the next connect — delete the file and restart the agent`);
  const plain = unsealOrFail(SECRETS, key, blob, corrupt, 'not a secrets file');
  let v: unknown;
  try {
    v = JSON.parse(plain);
  } catch {
    throw corrupt('bad payload');
  }
  const o = v as Partial<RepoSecrets> | null;
  if (!o || typeof o.repository !== 'string' || typeof o.password !== 'string') throw corrupt('bad payload');
  const out: RepoSecrets = { repository: o.repository, password: o.password };
  if (typeof o.rest_username === 'string') out.rest_username = o.rest_username;
  if (typeof o.rest_password === 'string') out.rest_password = o.rest_password;
  if (o.repositories !== undefined) {
    if (!Array.isArray(o.repositories) || !o.repositories.every(isRepositoryShape)) throw corrupt('bad repositories');
    out.repositories = o.repositories;
  }
  return out;
}

/** Returns null when no credentials were delivered yet; throws StateError when the file is corrupt. */
export function readSecrets(file: string, keyB64: string): RepoSecrets | null {
  const blob = readIfExists(file);
  if (blob === null) return null;
  return decryptSecrets(Buffer.from(keyB64, 'base64'), blob, file);
}

export function writeSecrets(file: string, keyB64: string, secrets: RepoSecrets): void {
  writeFileAtomic(file, encryptSecrets(Buffer.from(keyB64, 'base64'), secrets));
}

/** The outline of a RepositoryConfig (the full check runs when a job uses it, without zod at rest). */
export function isRepositoryShape(v: unknown): v is RepositoryConfig {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const c = r.credentials as Record<string, unknown> | null | undefined;
  return typeof r.id === 'string' && typeof r.url === 'string' && typeof r.password === 'string' && typeof r.name === 'string'
    && (r.engine === 'restic' || r.engine === 'rustic') && typeof c === 'object' && c !== null && typeof c.backend === 'string';
}
