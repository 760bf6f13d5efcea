import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readIfExists, writeFileAtomic } from './atomic.js';
import { StateError } from './errors.js';

/** Repository credentials for routine jobs, as delivered by `config.update` (spec §7.3). */
export interface RepoSecrets {
  repository: string;
  password: string;
  rest_username?: string;
  rest_password?: string;
}

const MAGIC = Buffer.from('RMSEC1\n', 'utf8');
const AAD = Buffer.from('restic-manager agent secrets v1', 'utf8');
const IV_LEN = 12;
const TAG_LEN = 16;

/**
 * secrets.enc layout: MAGIC | 12-byte nonce | 16-byte GCM tag | AES-256-GCM ciphertext of the JSON.
 * A fresh nonce per write; the key lives in agent.yaml (same 0600 trust boundary, spec §7.3).
 */
export function encryptSecrets(key: Buffer, secrets: RepoSecrets): Buffer {
  const iv = randomBytes(IV_LEN);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(AAD);
  const ct = Buffer.concat([c.update(JSON.stringify(secrets), 'utf8'), c.final()]);
  return Buffer.concat([MAGIC, iv, c.getAuthTag(), ct]);
}

export function decryptSecrets(key: Buffer, blob: Buffer, file = 'secrets.enc'): RepoSecrets {
  const corrupt = (why: string): StateError =>
    new StateError('state_corrupt', `${file} cannot be read (${why}); the server re-sends credentials on the next connect — delete the file and restart the agent`);
  if (blob.length < MAGIC.length + IV_LEN + TAG_LEN || !blob.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('not a secrets file');
  const iv = blob.subarray(MAGIC.length, MAGIC.length + IV_LEN);
  const tag = blob.subarray(MAGIC.length + IV_LEN, MAGIC.length + IV_LEN + TAG_LEN);
  const ct = blob.subarray(MAGIC.length + IV_LEN + TAG_LEN);
  let plain: string;
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(AAD);
    d.setAuthTag(tag);
    plain = Buffer.concat([d.update(ct), d.final()]).toString('utf8');
  } catch {
    throw corrupt('authentication failed: wrong key or tampered file');
  }
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
