/**
 * age v1 (https://age-encryption.org/v1) on node:crypto: X25519 recipients, header
 * MAC, and the STREAM payload. Encrypting is incremental (AgeEncryptor) so blobs of
 * any size stream through constant memory; decrypting can start at any segment.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AgeHeaderError, encodeHeaderWithoutMac, parseHeader, type Stanza } from './header.js';
import { hkdf, hmacSha256 } from './primitives.js';
import { NONCE_SIZE, payloadKey, StreamDecryptor, StreamEncryptor } from './stream.js';
import type { X25519Identity, X25519Recipient } from './x25519.js';

export { AgeHeaderError, parseHeader } from './header.js';
export { AgePayloadError, SEGMENT, SEALED_SEGMENT, openSegment, payloadKey, segmentSpan, StreamDecryptor } from './stream.js';
export { X25519Identity, X25519Recipient } from './x25519.js';
export { bech32Decode, bech32Encode } from './bech32.js';

/** No stanza could be unwrapped by the given identities (wrong key). */
export class AgeNoMatchError extends Error {
  readonly code = 'AGE_NO_MATCH';
}
/** A file key was unwrapped but the header MAC does not verify (tampered header). */
export class AgeMacError extends Error {
  readonly code = 'AGE_MAC';
}

function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  return hmacSha256(hkdf(fileKey, Buffer.alloc(0), 'header', 32), macInput);
}

/** Streaming encryption: header() first, then push() data, then finish(). */
export class AgeEncryptor {
  private readonly headerBytes: Buffer;
  private readonly stream: StreamEncryptor;
  private headerSent = false;
  constructor(recipients: X25519Recipient[]) {
    if (recipients.length === 0) throw new Error('age: at least one recipient is required');
    const fileKey = randomBytes(16);
    const stanzas: Stanza[] = recipients.map((r) => r.wrap(fileKey));
    const macInput = encodeHeaderWithoutMac(stanzas);
    const mac = headerMac(fileKey, Buffer.from(macInput, 'latin1'));
    const nonce = randomBytes(NONCE_SIZE);
    this.headerBytes = Buffer.concat([Buffer.from(`${macInput} ${mac.toString('base64').replace(/=+$/, '')}\n`, 'latin1'), nonce]);
    this.stream = new StreamEncryptor(payloadKey(fileKey, nonce));
  }
  /** Header length in bytes (excluding the 16-byte payload nonce). */
  get headerLength(): number {
    return this.headerBytes.length - NONCE_SIZE;
  }
  get plaintextLength(): number {
    return this.stream.plaintextLength;
  }
  /** Returns ciphertext pieces in order (the header first, on the first call). */
  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    if (!this.headerSent) {
      this.headerSent = true;
      out.push(this.headerBytes);
    }
    return this.stream.push(data, out);
  }
  finish(): Buffer[] {
    const out: Buffer[] = [];
    if (!this.headerSent) {
      this.headerSent = true;
      out.push(this.headerBytes);
    }
    return this.stream.finish(out);
  }
}

/** Encrypts a whole buffer. */
export function encrypt(plaintext: Uint8Array, recipients: X25519Recipient[]): Buffer {
  const e = new AgeEncryptor(recipients);
  return Buffer.concat([...e.push(plaintext), ...e.finish()]);
}

export interface OpenedHeader {
  fileKey: Buffer;
  /** Bytes before the payload nonce. */
  headerLength: number;
}

/**
 * Parses the header at the start of `buf`, unwraps the file key and verifies the MAC.
 * Returns null if `buf` is too short to hold the whole header. Throws AgeHeaderError,
 * AgeNoMatchError or AgeMacError.
 */
export function openHeader(buf: Buffer, identities: X25519Identity[]): OpenedHeader | null {
  const h = parseHeader(buf);
  if (h === null) return null;
  let fileKey: Buffer | null = null;
  try {
    for (const s of h.stanzas) {
      if (s.type === 'scrypt') throw new AgeHeaderError('age header: scrypt (passphrase) stanzas are not supported');
      for (const id of identities) {
        fileKey ??= id.unwrap(s);
      }
    }
  } catch (e) {
    if (e instanceof AgeHeaderError) throw e;
    throw new AgeHeaderError((e as Error).message);
  }
  if (fileKey === null) throw new AgeNoMatchError('age: no identity matches this file (wrong private key?)');
  if (fileKey.length !== 16) throw new AgeHeaderError('age header: file key has the wrong length');
  if (!timingSafeEqual(headerMac(fileKey, h.macInput), h.mac)) throw new AgeMacError('age: header MAC mismatch (header was modified)');
  return { fileKey, headerLength: h.length };
}

/**
 * Decrypts a whole buffer. `onPlaintext`, when given, receives every authenticated
 * segment before an error is thrown (so callers can see how far decryption got).
 */
export function decrypt(buf: Buffer, identities: X25519Identity[], onPlaintext?: (b: Buffer) => void): Buffer {
  const h = openHeader(buf, identities);
  if (h === null) throw new AgeHeaderError('age header: truncated');
  const nonce = buf.subarray(h.headerLength, h.headerLength + NONCE_SIZE);
  if (nonce.length < NONCE_SIZE) throw new AgeHeaderError('age: missing payload nonce');
  const d = new StreamDecryptor(payloadKey(h.fileKey, nonce));
  const parts: Buffer[] = [];
  try {
    d.push(buf.subarray(h.headerLength + NONCE_SIZE), parts);
    d.finish(parts);
  } finally {
    for (const b of parts) onPlaintext?.(b);
  }
  return Buffer.concat(parts);
}
