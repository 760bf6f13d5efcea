/**
 * Incompressible chunks (random, already compressed, encrypted data) skip zstd's
 * search: a 64 KiB sample is compressed first, and if it does not shrink by 2% the
 * chunk is wrapped in a valid zstd frame of raw blocks instead (RFC 8878 §3.1.1:
 * magic, frame header without content size, window 128 KiB, Raw_Block blocks).
 * Any zstd decoder reads it, so the format needs no flag for it.
 */
import type { Compressor } from 'zstd-napi';

const BLOCK = 128 * 1024;
const SAMPLE = 64 * 1024;

export function rawZstdFrame(data: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / BLOCK));
  const out = Buffer.allocUnsafe(6 + blocks * 3 + data.length);
  out.writeUInt32LE(0xfd2fb528, 0);
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

/** zstd-compresses `chunk`, or stores it raw when a sample shows it does not compress. */
export function compressChunk(compressor: Compressor, chunk: Uint8Array): Buffer {
  if (chunk.length >= 2 * SAMPLE && compressor.compress(chunk.subarray(0, SAMPLE)).length > SAMPLE * 0.98) return rawZstdFrame(chunk);
  return compressor.compress(chunk);
}
