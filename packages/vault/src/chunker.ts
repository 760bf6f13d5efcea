/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016) with normalized
 * chunking level 2: a gear rolling hash, a stricter mask before the average size and
 * a looser one after it, and cut-point skipping below the minimum size.
 * The gear table is derived from a fixed seed, so boundaries are stable across runs
 * and machines (which is what makes deduplication work).
 */
import { createHash } from 'node:crypto';

export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

/**
 * min = avg/4, max = avg*4. (restic uses 512 KiB / 1 MiB / 8 MiB; with normalized
 * chunking almost no chunk reaches 4x the average, and a smaller max halves the
 * worker's read buffer.)
 */
export function chunkerParams(avg: number): ChunkerParams {
  return { min: Math.max(64, Math.floor(avg / 4)), avg, max: avg * 4 };
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
  private readonly maskS: number;
  private readonly maskL: number;
  /** Streaming state of `next`: bytes of the current chunk already scanned, and the hash. */
  private scanned = 0;
  private h = 0;
  constructor(params: ChunkerParams) {
    this.params = params;
    const bits = Math.round(Math.log2(params.avg));
    this.maskS = topBits(bits + 2);
    this.maskL = topBits(bits - 2);
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
    const normalEnd = start + avg;
    const gear = GEAR;
    const maskS = this.maskS;
    const maskL = this.maskL;
    let h = this.h;
    let i = start + Math.max(min, this.scanned);
    for (const e = Math.min(normalEnd, stop); i < e; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskS) === 0) return this.done(i - start + 1);
    }
    for (; i < stop; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return this.done(i - start + 1);
    }
    if (n >= max || eof) return this.done(Math.min(n, max));
    this.scanned = i - start;
    this.h = h;
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
}
