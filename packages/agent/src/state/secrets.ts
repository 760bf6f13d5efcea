import { readIfExists, writeFileAtomic } from './atomic.js';
import { StateError } from './errors.js';
import { seal, unsealOrFail } from './sealed.js';
import type { SealKind } from './sealed.js';

/** Repository credentials for routine jobs, as delivered by `config.update` (spec §7.3). */
export interface RepoSecrets {
  repository: string;
  password: string;
  rest_username?: string;
  rest_password?: string;
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
