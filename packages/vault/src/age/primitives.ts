/** Thin wrappers over node:crypto used by the age implementation. */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** ChaCha20-Poly1305 seal: returns ciphertext || 16-byte tag. */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  const out = Buffer.allocUnsafe(plaintext.length + 16);
  const n = c.update(plaintext).copy(out, 0);
  c.final();
  c.getAuthTag().copy(out, n);
  return out;
}

/** ChaCha20-Poly1305 open; null when authentication fails. */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < 16) return null;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const out = d.update(sealed.subarray(0, sealed.length - 16));
  try {
    d.final();
  } catch {
    return null;
  }
  return out;
}
