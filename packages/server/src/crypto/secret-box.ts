import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const VERSION = 1;

/**
 * AES-256-GCM sealing of secrets at rest (spec §7.3). Layout: 1 byte version, 12 byte nonce,
 * ciphertext, 16 byte tag; base64url on disk. `aad` binds a ciphertext to its row purpose
 * so a blob copied into another column fails to open.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  }

  seal(plaintext: string, aad: string): string {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, body, c.getAuthTag()]).toString('base64url');
  }

  /** Throws `Error('secret cannot be decrypted')` on a wrong key, tampering or wrong aad. */
  open(sealed: string, aad: string): string {
    const buf = Buffer.from(sealed, 'base64url');
    if (buf.length < 29 || buf[0] !== VERSION) throw new Error('secret cannot be decrypted');
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, buf.subarray(1, 13));
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(buf.subarray(buf.length - 16));
      return Buffer.concat([d.update(buf.subarray(13, buf.length - 16)), d.final()]).toString('utf8');
    } catch {
      throw new Error('secret cannot be decrypted');
    }
  }

  /**
   * A keyed hash (HMAC-SHA256, hex) of a high-entropy secret for lookup by equality, under a
   * subkey of `purpose` so digests for one use cannot stand in for another's. Without the key
   * file a copy of the database cannot even confirm a guessed secret (decision server-0010).
   */
  digest(value: string, purpose: string): string {
    const sub = createHmac('sha256', this.key).update(`rm-digest:${purpose}`).digest();
    return createHmac('sha256', sub).update(value).digest('hex');
  }

  sealJson(value: unknown, aad: string): string {
    return this.seal(JSON.stringify(value), aad);
  }

  openJson<T>(sealed: string, aad: string): T {
    return JSON.parse(this.open(sealed, aad)) as T;
  }
}

/**
 * Loads the 32-byte key (stored as 64 hex chars) or creates it with mode 0600 on first run.
 * Refuses a key file readable by group/other, or one of the wrong length.
 */
export function loadOrCreateKey(file: string): { key: Buffer; created: boolean } {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return { key, created: true };
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`secret key file ${file} has mode ${mode.toString(8)}; run chmod 600 on it`);
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`secret key file ${file} must hold 64 hex characters (32 bytes)`);
  return { key: Buffer.from(text, 'hex'), created: false };
}
