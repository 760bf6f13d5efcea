import { createHmac } from 'node:crypto';

/*
 * RFC 6238 TOTP computed from the RFC itself with node:crypto, for tests: codes a test sends are
 * never produced by the server's own library. totp.test.ts checks these against the RFC's
 * Appendix B vectors.
 */

/** RFC 4226 HOTP: HMAC of the 8-byte big-endian counter, dynamic truncation, `digits` decimal digits. */
export function hotp(key: Buffer, counter: bigint, digits: number, algorithm: 'sha1' | 'sha256' | 'sha512'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const h = createHmac(algorithm, key).update(msg).digest();
  const off = h[h.length - 1]! & 0x0f;
  const bin = ((h[off]! & 0x7f) << 24) | (h[off + 1]! << 16) | (h[off + 2]! << 8) | h[off + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}
/** RFC 6238 TOTP with T0 = 0 and X = 30 s. */
export const totpAt = (key: Buffer, ms: number, digits = 6, algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1') => hotp(key, BigInt(Math.floor(ms / 1000 / 30)), digits, algorithm);

/** RFC 4648 base32 (no padding), as authenticator apps read the secret. */
export function base32(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
