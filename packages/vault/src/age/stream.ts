/**
 * The age payload: a 16-byte nonce, then STREAM of ChaCha20-Poly1305 segments of
 * 64 KiB plaintext each; the nonce of segment i is an 11-byte big-endian counter
 * followed by 0x01 for the final segment and 0x00 otherwise.
 */
import { createCipheriv } from 'node:crypto';
import { aeadOpen, hkdf } from './primitives.js';

export const SEGMENT = 64 * 1024;
export const SEALED_SEGMENT = SEGMENT + 16;
export const NONCE_SIZE = 16;

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return hkdf(fileKey, nonce, 'payload', 32);
}

function segmentNonce(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(index, 5, 6); // counters never exceed 2^48 segments here (16 EiB)
  n[11] = last ? 1 : 0;
  return n;
}

/** Opens one sealed segment; null when authentication fails. */
export function openSegment(key: Buffer, index: number, last: boolean, sealed: Uint8Array): Buffer | null {
  return aeadOpen(key, segmentNonce(index, last), sealed);
}

/**
 * Incremental STREAM encryption in constant memory. Full segments are sealed straight
 * from the caller's buffer; only a trailing partial segment is staged (64 KiB). The
 * last full segment is held back until more data or finish(), since the final
 * segment carries a different nonce.
 */
export class StreamEncryptor {
  private readonly key: Buffer;
  private readonly pending = Buffer.allocUnsafe(SEGMENT);
  private readonly nonce = Buffer.alloc(12);
  private pendingLen = 0;
  private index = 0;
  private finished = false;
  constructor(key: Buffer) {
    this.key = key;
  }
  /** Plaintext bytes accepted so far. */
  get plaintextLength(): number {
    return this.index * SEGMENT + this.pendingLen;
  }
  /** Returns ciphertext pieces (segment bodies and tags as separate buffers). */
  push(data: Uint8Array, out: Buffer[] = []): Buffer[] {
    if (this.finished) throw new Error('StreamEncryptor: push after finish');
    let off = 0;
    while (off < data.length) {
      if (this.pendingLen === SEGMENT) {
        this.seal(this.pending, false, out);
        this.pendingLen = 0;
      }
      if (this.pendingLen === 0 && data.length - off > SEGMENT) {
        this.seal(data.subarray(off, off + SEGMENT), false, out);
        off += SEGMENT;
        continue;
      }
      const n = Math.min(SEGMENT - this.pendingLen, data.length - off);
      this.pending.set(data.subarray(off, off + n), this.pendingLen);
      this.pendingLen += n;
      off += n;
    }
    return out;
  }
  finish(out: Buffer[] = []): Buffer[] {
    this.finished = true;
    this.seal(this.pending.subarray(0, this.pendingLen), true, out);
    this.pendingLen = 0;
    return out;
  }
  private seal(plain: Uint8Array, last: boolean, out: Buffer[]): void {
    // createCipheriv copies the nonce, so one buffer serves every segment.
    this.nonce.writeUIntBE(this.index++, 5, 6);
    this.nonce[11] = last ? 1 : 0;
    const c = createCipheriv('chacha20-poly1305', this.key, this.nonce, { authTagLength: 16 });
    const body = c.update(plain);
    c.final();
    if (body.length > 0) out.push(body);
    out.push(c.getAuthTag());
  }
}

/** Raised when the payload does not authenticate or is truncated/extended. */
export class AgePayloadError extends Error {
  readonly code = 'AGE_PAYLOAD';
}

/**
 * Incremental STREAM decryption. Plaintext is released segment by segment as soon
 * as it authenticates (matching the reference implementation: a full-size segment
 * is tried as non-final first); errors are thrown after releasing what verified.
 */
export class StreamDecryptor {
  private readonly key: Buffer;
  private buf: Buffer = Buffer.alloc(0);
  private index = 0;
  private done = false;
  constructor(key: Buffer) {
    this.key = key;
  }
  push(data: Uint8Array, out: Buffer[] = []): Buffer[] {
    if (data.length === 0) return out;
    if (this.done) throw new AgePayloadError('age payload: data after the final segment');
    this.buf = this.buf.length === 0 ? Buffer.from(data) : Buffer.concat([this.buf, data]);
    while (this.buf.length > SEALED_SEGMENT) {
      const sealed = this.buf.subarray(0, SEALED_SEGMENT);
      const seg = openSegment(this.key, this.index, false, sealed);
      if (seg === null) {
        const fin = openSegment(this.key, this.index, true, sealed);
        if (fin === null) throw new AgePayloadError(`age payload: segment ${this.index} failed authentication`);
        out.push(fin);
        this.done = true;
        throw new AgePayloadError('age payload: data after the final segment');
      }
      out.push(seg);
      this.index++;
      this.buf = this.buf.subarray(SEALED_SEGMENT);
    }
    return out;
  }
  /** Ends the stream; `out` receives the last plaintext. Throws if the stream was not properly finished. */
  finish(out: Buffer[] = []): Buffer[] {
    if (this.done) return out;
    if (this.buf.length === 0) throw new AgePayloadError(this.index === 0 ? 'age payload: no segments' : 'age payload: missing final segment (truncated)');
    if (this.buf.length === SEALED_SEGMENT) {
      const seg = openSegment(this.key, this.index, false, this.buf);
      if (seg !== null) {
        out.push(seg);
        throw new AgePayloadError('age payload: missing final segment (truncated)');
      }
    }
    const seg = openSegment(this.key, this.index, true, this.buf);
    if (seg === null) throw new AgePayloadError(`age payload: final segment ${this.index} failed authentication (truncated or corrupted)`);
    if (seg.length === 0 && this.index > 0) throw new AgePayloadError('age payload: empty final segment after data');
    out.push(seg);
    this.done = true;
    return out;
  }
}

/**
 * Where plaintext [offset, offset+length) of a payload of `total` plaintext bytes
 * lives in the file, given the header length: the covering segments and their byte range.
 */
export function segmentSpan(headerLength: number, offset: number, length: number, total: number): { first: number; last: number; start: number; end: number; lastIsFinal: boolean } {
  const finalIndex = total === 0 ? 0 : Math.floor((total - 1) / SEGMENT);
  const first = Math.floor(offset / SEGMENT);
  const last = length === 0 ? first : Math.floor((offset + length - 1) / SEGMENT);
  const base = headerLength + NONCE_SIZE;
  const start = base + first * SEALED_SEGMENT;
  const end = last === finalIndex ? base + finalIndex * SEALED_SEGMENT + (total - finalIndex * SEGMENT) + 16 : base + (last + 1) * SEALED_SEGMENT;
  return { first, last, start, end, lastIsFinal: last === finalIndex };
}
