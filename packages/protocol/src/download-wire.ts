/**
 * The binary chunk frame of a download (docs/protocol.md "Downloads"), zod-free so the idle agent
 * can import it (`@restic-manager/protocol/wire`). Layout:
 *
 *   byte 0       DOWNLOAD_CHUNK_TAG (0x01)
 *   byte 1       n = length of the request id (1..64), ASCII
 *   bytes 2..    the request id
 *   next 4       the chunk's sequence number, uint32 big-endian, from 0
 *   the rest     payload, 1..DOWNLOAD_CHUNK_BYTES bytes
 */

export const DOWNLOAD_CHUNK_TAG = 0x01;
/** Largest payload of one chunk frame. */
export const DOWNLOAD_CHUNK_BYTES = 256 * 1024;
/** Largest credit window (chunks in flight or queued on the server). */
export const DOWNLOAD_MAX_WINDOW = 64;

/**
 * A chunk frame: header and payload in one buffer (one copy of `parts`). With `into` (at least
 * 2 + id length + 4 + bytes long) the frame is written there and a view of it returned, so a
 * sender can reuse its buffers instead of making garbage per chunk.
 */
export function encodeDownloadChunk(requestId: string, seq: number, parts: readonly Uint8Array[], bytes: number, into?: Buffer): Buffer {
  const id = Buffer.from(requestId, 'ascii');
  const head = 2 + id.length + 4;
  const out = into && into.length >= head + bytes ? into.subarray(0, head + bytes) : Buffer.allocUnsafe(head + bytes);
  out[0] = DOWNLOAD_CHUNK_TAG;
  out[1] = id.length;
  id.copy(out, 2);
  out.writeUInt32BE(seq >>> 0, 2 + id.length);
  let at = head;
  for (const p of parts) {
    const take = Math.min(p.length, head + bytes - at);
    if (take <= 0) break;
    out.set(take === p.length ? p : p.subarray(0, take), at);
    at += take;
  }
  return out;
}

export type DecodedChunk = { ok: true; requestId: string; seq: number; payload: Buffer } | { ok: false; message: string };

/** Reads a chunk frame; never throws. The message names what is wrong, never the bytes. */
export function decodeDownloadChunk(frame: Buffer): DecodedChunk {
  if (frame.length < 7) return { ok: false, message: `binary frame of ${frame.length} bytes is shorter than a chunk header` };
  if (frame[0] !== DOWNLOAD_CHUNK_TAG) return { ok: false, message: `binary frame tag ${frame[0]} is not a download chunk (${DOWNLOAD_CHUNK_TAG})` };
  const n = frame[1]!;
  if (n < 1 || n > 64 || frame.length < 2 + n + 4) return { ok: false, message: 'download chunk: request id length out of range' };
  const requestId = frame.subarray(2, 2 + n).toString('latin1');
  if (!/^[A-Za-z0-9_-]+$/.test(requestId)) return { ok: false, message: 'download chunk: request id is not [A-Za-z0-9_-]' };
  const payload = frame.subarray(2 + n + 4);
  if (payload.length === 0) return { ok: false, message: 'download chunk: empty payload' };
  if (payload.length > DOWNLOAD_CHUNK_BYTES) return { ok: false, message: `download chunk: payload of ${payload.length} bytes exceeds ${DOWNLOAD_CHUNK_BYTES}` };
  return { ok: true, requestId, seq: frame.readUInt32BE(2 + n), payload };
}
