/**
 * Reads individual chunks out of blobs with ranged reads: the blob header (to unwrap
 * the file key), then only the 64 KiB STREAM segments that cover the wanted chunks.
 * Each segment authenticates on its own, so damage is confined to the chunks whose
 * segments are damaged; every chunk is also checked against its SHA-256.
 */
import { createHash } from 'node:crypto';
import { decompress } from 'zstd-napi';
import { openHeader, openSegment, payloadKey, SEALED_SEGMENT, SEGMENT, segmentSpan, type X25519Identity } from './age/index.js';
import { blobKey } from './layout.js';
import type { Storage } from './storage/index.js';

export interface BlobInfo {
  id: string;
  plain: number;
  header: number;
}

export interface ChunkRef {
  hash: string;
  offset: number;
  length: number;
  raw: number;
}

/** Largest ciphertext window fetched in one request. */
const WINDOW = 4 * 1024 * 1024;

export class BlobReader {
  private readonly keys = new Map<string, Promise<Buffer>>();
  constructor(
    private readonly storage: Storage,
    private readonly identity: X25519Identity,
  ) {}

  private key(blob: BlobInfo): Promise<Buffer> {
    let p = this.keys.get(blob.id);
    if (!p) {
      p = (async () => {
        const head = await this.storage.getRange(blobKey(blob.id), 0, blob.header + 16);
        const h = openHeader(head, [this.identity]);
        if (!h) throw new Error(`blob ${blob.id.slice(0, 16)}: header truncated`);
        return payloadKey(h.fileKey, head.subarray(h.headerLength, h.headerLength + 16));
      })();
      this.keys.set(blob.id, p);
    }
    return p;
  }

  /**
   * Calls `onChunk` once per wanted chunk (in offset order) with its verified raw bytes
   * or the reason it could not be read. Rejects only on storage errors other than damage.
   */
  async read(blob: BlobInfo, wanted: ChunkRef[], onChunk: (c: ChunkRef, data: Buffer | Error) => Promise<void> | void): Promise<void> {
    const sorted = [...wanted].sort((a, b) => a.offset - b.offset);
    let key: Buffer;
    try {
      key = await this.key(blob);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'NoBucket' || code === 'Denied' || code === 'Failed') throw e;
      for (const c of sorted) await onChunk(c, new Error(`blob ${blob.id.slice(0, 16)} unreadable: ${(e as Error).message}`));
      return;
    }
    let i = 0;
    while (i < sorted.length) {
      // Grow a window of consecutive chunks up to WINDOW bytes of ciphertext.
      const first = segmentSpan(blob.header, sorted[i]!.offset, sorted[i]!.length, blob.plain);
      let j = i + 1;
      let end = first.end;
      let lastSeg = first.last;
      while (j < sorted.length) {
        const s = segmentSpan(blob.header, sorted[j]!.offset, sorted[j]!.length, blob.plain);
        if (s.end - first.start > WINDOW || s.first > lastSeg + 1) break;
        end = Math.max(end, s.end);
        lastSeg = Math.max(lastSeg, s.last);
        j++;
      }
      const bytes = await this.storage.getRange(blobKey(blob.id), first.start, end);
      const finalIndex = blob.plain === 0 ? 0 : Math.floor((blob.plain - 1) / SEGMENT);
      const segs = new Map<number, Buffer | null>();
      for (let s = first.first; s <= lastSeg; s++) {
        const off = (s - first.first) * SEALED_SEGMENT;
        const sealed = bytes.subarray(off, Math.min(off + SEALED_SEGMENT, bytes.length));
        segs.set(s, sealed.length > 16 ? openSegment(key, s, s === finalIndex, sealed) : null);
      }
      for (const c of sorted.slice(i, j)) await onChunk(c, this.extract(blob, c, segs));
      i = j;
    }
  }

  private extract(blob: BlobInfo, c: ChunkRef, segs: Map<number, Buffer | null>): Buffer | Error {
    const span = segmentSpan(blob.header, c.offset, c.length, blob.plain);
    const parts: Buffer[] = [];
    for (let s = span.first; s <= span.last; s++) {
      const seg = segs.get(s);
      if (!seg) return new Error(`blob ${blob.id.slice(0, 16)}: segment ${s} is damaged or missing`);
      parts.push(seg);
    }
    const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const rel = c.offset - span.first * SEGMENT;
    let raw: Buffer;
    try {
      raw = decompress(joined.subarray(rel, rel + c.length));
    } catch (e) {
      return new Error(`chunk ${c.hash.slice(0, 16)}: cannot decompress (${(e as Error).message})`);
    }
    if (raw.length !== c.raw || createHash('sha256').update(raw).digest('hex') !== c.hash) {
      return new Error(`chunk ${c.hash.slice(0, 16)}: content hash mismatch`);
    }
    return raw;
  }
}
