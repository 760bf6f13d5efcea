/**
 * Chunk compression for the worker threads. Workers compress straight into their
 * shared ring buffer (see pipeline/ring.ts), so no per-chunk buffer is allocated.
 *
 * Incompressible chunks (random, already compressed, encrypted data) skip zstd's
 * search: the chunk's first 64 KiB are compressed first, and if they do not shrink by 2%
 * the chunk is wrapped in a valid zstd frame of raw blocks instead (RFC 8878 §3.1.1:
 * magic, frame header without content size, window 128 KiB, Raw_Block blocks).
 * Any zstd decoder reads it, so the format needs no flag for it.
 *
 * The sample is the start of the chunk's own frame (streaming compression, flushed after
 * it), so a compressible chunk's first 64 KiB are compressed once, not twice: ~20% less zstd
 * time on compressible data (docs/decisions/0009). The frame is one ordinary zstd frame with
 * its content size; only its block boundaries differ from a one-shot compression's.
 */
import { createRequire } from 'node:module';
import type * as Binding from 'zstd-napi/binding.js';

const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof Binding;

const BLOCK = 128 * 1024;
const SAMPLE = 64 * 1024;

export function rawFrameSize(n: number): number {
  return 6 + Math.max(1, Math.ceil(n / BLOCK)) * 3 + n;
}

/** Writes `data` as a zstd frame of raw blocks into `out` (rawFrameSize(data.length) bytes). */
export function rawZstdFrame(data: Uint8Array, out: Uint8Array = new Uint8Array(rawFrameSize(data.length))): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / BLOCK));
  out.set([0x28, 0xb5, 0x2f, 0xfd], 0); // magic 0xFD2FB528, little-endian
  out[4] = 0x00; // Frame_Header_Descriptor: no content size, not single-segment, no checksum, no dictionary
  out[5] = 0x38; // Window_Descriptor: exponent 7 -> 2^17 bytes
  let o = 6;
  for (let i = 0; i < blocks; i++) {
    const start = i * BLOCK;
    const len = Math.min(BLOCK, data.length - start);
    const header = (i === blocks - 1 ? 1 : 0) | (len << 3); // Block_Type 0 = Raw_Block
    out[o] = header & 0xff;
    out[o + 1] = (header >>> 8) & 0xff;
    out[o + 2] = (header >>> 16) & 0xff;
    o += 3;
    out.set(data.subarray(start, start + len), o);
    o += len;
  }
  return out;
}

/** Bytes `compressInto` may write for a chunk of `n` bytes (zstd's bound or a raw frame, whichever is larger). */
export function compressedBound(n: number): number {
  return Math.max(binding.compressBound(n), rawFrameSize(n));
}

export class ChunkCompressor {
  private readonly cctx = new binding.CCtx();
  private scratch: Uint8Array | null = null;
  constructor(
    private readonly level: number,
    private readonly maxChunk: number,
  ) {
    this.cctx.setParameter(binding.CParameter.compressionLevel, level);
  }
  /**
   * Compresses `chunk` into `out` (at least compressedBound(chunk.length) bytes; any
   * memory, including a SharedArrayBuffer view) and returns the frame's length.
   */
  compressInto(chunk: Uint8Array, out: Uint8Array): number {
    if (chunk.length < 2 * SAMPLE) return this.cctx.compress(out, chunk, this.level);
    const c = this.cctx;
    c.reset(binding.ResetDirective.sessionOnly);
    c.setPledgedSrcSize(chunk.length);
    // `out` holds the whole chunk's bound, so each call consumes all its input and flushes.
    const [, head, used] = c.compressStream2(out, chunk.subarray(0, SAMPLE), binding.EndDirective.flush);
    if (used !== SAMPLE) throw new Error('zstd: sample not consumed');
    if (head > SAMPLE * 0.98) {
      c.reset(binding.ResetDirective.sessionOnly);
      rawZstdFrame(chunk, out);
      return rawFrameSize(chunk.length);
    }
    let pos = head;
    let off = SAMPLE;
    for (;;) {
      const [left, written, consumed] = c.compressStream2(out.subarray(pos), chunk.subarray(off), binding.EndDirective.end);
      pos += written;
      off += consumed;
      if (left === 0) return pos;
      if (written === 0 && consumed === 0) throw new Error('zstd: output buffer smaller than compressedBound');
    }
  }
  /** The compressed frame in a fresh, exact-size buffer. */
  compress(chunk: Uint8Array): Uint8Array {
    const need = compressedBound(Math.max(chunk.length, this.maxChunk));
    if (!this.scratch || this.scratch.length < need) this.scratch = new Uint8Array(need);
    return this.scratch.slice(0, this.compressInto(chunk, this.scratch));
  }
}
