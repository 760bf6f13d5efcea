/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016) with normalized
 * chunking level 2: a gear rolling hash, a stricter mask before the average size and
 * a looser one after it, and cut-point skipping below the minimum size.
 * The gear table is derived from a fixed seed, so boundaries are stable across runs
 * and machines (which is what makes deduplication work).
 *
 * The loop runs in WebAssembly over data in the chunker's own buffer (`buffer`, ~2.3x
 * the JavaScript loop's speed) and in JavaScript over any other buffer; both cut at
 * the same points.
 */
import { createHash } from 'node:crypto';
import { gearScanner, type GearScanner } from './gear-scan.js';

export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

/**
 * min = avg/4, max = avg*2. (restic uses 512 KiB / 1 MiB / 8 MiB. With normalized
 * chunking a chunk passes the average with 1/avg * 4 cut odds per byte, so ~1.8% of
 * chunks (e^-4) reach 2x the average and are cut there; each such forced cut costs at
 * most the next chunk's alignment after an insertion. The small max bounds each
 * worker's read buffer and ring to ~2x the average: 8 MB of the backup's RSS at 1 MiB.)
 */
export function chunkerParams(avg: number): ChunkerParams {
  return { min: Math.max(64, Math.floor(avg / 4)), avg, max: avg * 2 };
}

const GEAR = (() => {
  const table = new Int32Array(256);
  let block = createHash('sha256').update('restic-manager vault fastcdc gear v1').digest();
  for (let i = 0; i < 256; i += 8) {
    for (let j = 0; j < 8; j++) table[i + j] = block.readInt32LE(j * 4);
    block = createHash('sha256').update(block).digest();
  }
  return table;
})();

function topBits(n: number): number {
  return n <= 0 ? 0 : n >= 32 ? -1 : ((2 ** n - 1) * 2 ** (32 - n)) | 0;
}

export class Chunker {
  readonly params: ChunkerParams;
  /**
   * Present when the chunker was built with `bufferSize` and WebAssembly is available:
   * data read into it is scanned by the WebAssembly loop (pass this buffer, or a
   * subarray of it, to `cut`/`next`).
   */
  readonly buffer: Buffer | null;
  private readonly wasm: GearScanner | null;
  private readonly maskS: number;
  private readonly maskL: number;
  /** Streaming state of `next`: bytes of the current chunk already scanned, and the hash. */
  private scanned = 0;
  private h = 0;
  constructor(params: ChunkerParams, opts: { bufferSize?: number } = {}) {
    this.params = params;
    const bits = Math.round(Math.log2(params.avg));
    this.maskS = topBits(bits + 2);
    this.maskL = topBits(bits - 2);
    this.wasm = opts.bufferSize ? gearScanner(GEAR, opts.bufferSize) : null;
    this.buffer = this.wasm?.buffer ?? null;
  }
  /**
   * Length of the next chunk starting at `start` in `buf[start, end)`. The caller must
   * supply at least `max` bytes unless the data ends at `end`.
   */
  cut(buf: Uint8Array, start: number, end: number): number {
    this.reset();
    return this.next(buf, start, end, true);
  }
  /**
   * Streaming form of `cut`: the length of the chunk starting at `start` if its end is
   * known from `buf[start, end)`, or 0 if more data is needed (never at `eof`, unless
   * start === end). Between calls returning 0 the caller must keep `buf[start, end)`
   * (it may move it) and only append; the bytes already scanned are not scanned again.
   * The cut points are the same as `cut`'s on the whole data.
   */
  next(buf: Uint8Array, start: number, end: number, eof: boolean): number {
    const { min, avg, max } = this.params;
    const n = end - start;
    if (n === 0) return 0;
    if (n <= min) return eof ? this.done(n) : 0;
    const stop = start + Math.min(n, max);
    const normalEnd = Math.min(start + avg, stop);
    const i = start + Math.max(min, this.scanned);
    let cut = i < normalEnd ? this.roll(buf, i, normalEnd, this.maskS) : -1;
    if (cut < 0) cut = this.roll(buf, Math.max(i, normalEnd), stop, this.maskL);
    if (cut >= 0) return this.done(cut - start);
    if (n >= max || eof) return this.done(Math.min(n, max));
    this.scanned = stop - start;
    return 0;
  }
  /** Forgets a chunk left unfinished by `next` (e.g. a file that failed mid-read). */
  reset(): void {
    this.scanned = 0;
    this.h = 0;
  }
  private done(len: number): number {
    this.reset();
    return len;
  }
  /** Rolls the hash over buf[i, e); the index after the first byte matching `mask`, or -1. */
  private roll(buf: Uint8Array, i: number, e: number, mask: number): number {
    const w = this.wasm;
    if (w && buf.buffer === w.buffer.buffer) {
      const base = buf.byteOffset - w.buffer.byteOffset;
      const r = w.scan(this.h, base + i, base + e, mask);
      this.h = r.h;
      return r.cut < 0 ? -1 : r.cut - base;
    }
    const gear = GEAR;
    let h = this.h;
    for (; i < e; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & mask) === 0) {
        this.h = h;
        return i + 1;
      }
    }
    this.h = h;
    return -1;
  }
}
