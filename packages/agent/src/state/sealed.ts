import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_LEN = 12;
const TAG_LEN = 16;

/** What a sealed file is: its leading magic bytes and the AEAD associated data binding its purpose. */
export interface SealKind {
  magic: Buffer;
  aad: Buffer;
}

/**
 * Seals `plain` with AES-256-GCM under `key` (32 bytes): magic | 12-byte nonce | 16-byte tag |
 * ciphertext, a fresh nonce per call. The agent's state files holding secrets use it with the
 * secrets key of agent.yaml (same 0600 trust boundary, spec §7.3).
 */
export function seal(kind: SealKind, key: Buffer, plain: string): Buffer {
  const iv = randomBytes(IV_LEN);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(kind.aad);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([kind.magic, iv, c.getAuthTag(), ct]);
}

/**
 * Opens what `seal` wrote. Returns null when `blob` is not of this kind (wrong magic or too
 * short) and throws 'authentication failed' for a wrong key or a tampered file.
 */
export function unseal(kind: SealKind, key: Buffer, blob: Buffer): string | null {
  const m = kind.magic.length;
  if (blob.length < m + IV_LEN + TAG_LEN || !blob.subarray(0, m).equals(kind.magic)) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', key, blob.subarray(m, m + IV_LEN));
    d.setAAD(kind.aad);
    d.setAuthTag(blob.subarray(m + IV_LEN, m + IV_LEN + TAG_LEN));
    return Buffer.concat([d.update(blob.subarray(m + IV_LEN + TAG_LEN)), d.final()]).toString('utf8');
  } catch {
    throw new Error('authentication failed: wrong key or tampered file');
  }
}

/**
 * `unseal` for a state file that must be of this kind: a file of another kind (`notKind` says
 * what it is not), a wrong key or a tampered file all become `fail(why)`.
 */
export function unsealOrFail(kind: SealKind, key: Buffer, blob: Buffer, fail: (why: string) => Error, notKind: string): string {
  let plain: string | null;
  try {
    plain = unseal(kind, key, blob);
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (plain === null) throw fail(notKind);
  return plain;
}
