import { Writable } from 'node:stream';
import { DOWNLOAD_CHUNK_BYTES, encodeDownloadChunk } from '@restic-manager/protocol/wire';

/** A chunk frame's largest size: the header with a 64-character id, and a full payload. */
const FRAME_BYTES = 2 + 64 + 4 + DOWNLOAD_CHUNK_BYTES;

/**
 * Where `restic dump` writes (docs/protocol.md "Downloads"): collects its stdout into chunks of
 * DOWNLOAD_CHUNK_BYTES and sends each as one binary frame, only while the server's credit lasts.
 * Without credit (or before `open()`) it holds back the write callback, so the pipe fills and
 * restic blocks: a slow browser slows restic, and at most one chunk waits here.
 */
export class ChunkSink extends Writable {
  private parts: Buffer[] = [];
  private pending = 0;
  private credit: number;
  private gate = false;
  private flushing: (() => void) | null = null;
  private held: (() => void) | null = null;
  /** Frame buffers the socket has written, for the next chunks (no garbage per chunk). */
  private spare: Buffer[] = [];
  /** Chunks and payload bytes sent so far. */
  chunks = 0;
  bytes = 0;

  /**
   * `send` hands one frame to the socket and answers false when it cannot (the socket is gone);
   * it calls `written` once the frame's buffer is free again.
   */
  constructor(private readonly requestId: string, window: number, private readonly send: (frame: Buffer, written?: () => void) => boolean) {
    super({ highWaterMark: DOWNLOAD_CHUNK_BYTES });
    this.credit = window;
  }

  /** The size check passed: chunks may go out from now on. */
  open(): void {
    this.gate = true;
    this.pump();
  }

  /** The server granted `n` more chunks. */
  grant(n: number): void {
    this.credit += n;
    this.pump();
  }

  /** Sends what is left once credit allows; resolves when nothing is held any more. */
  flush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushing = resolve;
      this.pump();
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.parts.push(chunk);
    this.pending += chunk.length;
    this.held = () => cb();
    this.pump();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.parts = [];
    this.pending = 0;
    this.held = null;
    this.spare = [];
    this.flushing?.();
    this.flushing = null;
    cb(err);
  }

  private pump(): void {
    while (this.gate && this.credit > 0 && !this.destroyed && (this.pending >= DOWNLOAD_CHUNK_BYTES || (this.flushing && this.pending > 0))) {
      const size = Math.min(this.pending, DOWNLOAD_CHUNK_BYTES);
      const buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(FRAME_BYTES);
      const frame = encodeDownloadChunk(this.requestId, this.chunks, this.parts, size, buf);
      this.take(size);
      this.credit--;
      this.chunks++;
      this.bytes += size;
      if (!this.send(frame, () => this.destroyed || this.spare.push(buf))) {
        this.destroy(new Error('the server connection closed during the download'));
        return;
      }
    }
    if (this.pending < DOWNLOAD_CHUNK_BYTES && this.held) {
      const release = this.held;
      this.held = null;
      release();
    }
    if (this.flushing && this.pending === 0) {
      const done = this.flushing;
      this.flushing = null;
      done();
    }
  }

  /** Drops the first `n` bytes of the held parts. */
  private take(n: number): void {
    let left = n;
    while (left > 0) {
      const p = this.parts[0]!;
      if (p.length <= left) {
        this.parts.shift();
        left -= p.length;
      } else {
        this.parts[0] = p.subarray(left);
        left = 0;
      }
    }
    this.pending -= n;
  }
}
