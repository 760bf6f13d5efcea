/**
 * Worker thread: reads one file at a time, cuts it with FastCDC, hashes (SHA-256) and
 * compresses (zstd) each chunk into its ring buffer shared with the main thread, and
 * posts where it is. Writing waits for free ring space, so a slow consumer (upload)
 * stalls reading: bounded memory, and no per-chunk allocation.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Chunker } from '../chunker.js';
import { fsPath } from '../raw-path.js';
import { ChunkCompressor, compressedBound } from '../zstd-raw.js';
import type { FileJob, WorkerInit, WorkerPost } from './protocol.js';

const init = workerData as WorkerInit;
const READ = 512 * 1024;
// The chunker scans incrementally, so the buffer holds one unfinished chunk (< max) plus
// one read; compaction moves only the unfinished chunk's bytes. It lives in the
// chunker's WebAssembly memory, where the gear loop runs fastest.
const chunker = new Chunker(init.params, { bufferSize: init.params.max + READ });
const buf = chunker.buffer ?? Buffer.allocUnsafe(init.params.max + READ);
const compressor = new ChunkCompressor(init.level, init.params.max);
const free = new Int32Array(init.free);
const ring = new Uint8Array(init.ring);
const port = parentPort!;
/** Where the next chunk goes in the ring. */
let head = 0;

function emit(job: number, chunk: Buffer): void {
  const need = 32 + compressedBound(chunk.length);
  let pad: number;
  for (;;) {
    const f = Atomics.load(free, 0);
    if (f === ring.length) head = 0; // nothing in flight: start at the beginning, no padding
    // Contiguous room at the head, or wrap to the start (the skipped tail counts as used).
    pad = head + need > ring.length ? ring.length - head : 0;
    if (f >= pad + need) break;
    Atomics.wait(free, 0, f, 1000);
  }
  const off = pad ? 0 : head;
  createHash('sha256').update(chunk).digest().copy(ring, off);
  const len = compressor.compressInto(chunk, ring.subarray(off + 32, off + need));
  const cost = pad + 32 + len;
  Atomics.sub(free, 0, cost);
  head = off + 32 + len;
  port.postMessage({ type: 'chunk', job, off, len, cost, raw: chunk.length } satisfies WorkerPost);
}

function processFile(job: FileJob): void {
  let fd = -1;
  let size = 0;
  chunker.reset();
  try {
    fd = openSync(fsPath(job.path), 'r');
    let start = 0;
    let end = 0;
    let eof = false;
    for (;;) {
      const len = chunker.next(buf, start, end, eof);
      if (len > 0) {
        emit(job.job, buf.subarray(start, start + len));
        start += len;
        continue;
      }
      if (eof) break;
      if (buf.length - end < READ) {
        // compact: move the unfinished chunk (< max bytes) to the front
        buf.copy(buf, 0, start, end);
        end -= start;
        start = 0;
      }
      const n = readSync(fd, buf, end, READ, null);
      if (n === 0) eof = true;
      end += n;
      size += n;
    }
    port.postMessage({ type: 'end', job: job.job, size } satisfies WorkerPost);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    port.postMessage({ type: 'end', job: job.job, size, error: `${err.code ?? 'error'}: ${err.message}` } satisfies WorkerPost);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

port.on('message', (m: FileJob) => processFile(m));
