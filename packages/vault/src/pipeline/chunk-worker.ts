/**
 * Worker thread: reads one file at a time, cuts it with FastCDC, hashes (SHA-256) and
 * compresses (zstd) each chunk, and posts it to the main thread. Posting blocks on a
 * shared byte credit, so a slow consumer (upload) stalls reading: bounded memory.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Chunker } from '../chunker.js';
import { ChunkCompressor } from '../zstd-raw.js';
import type { FileJob, WorkerInit, WorkerMessage } from './protocol.js';

const init = workerData as WorkerInit;
const chunker = new Chunker(init.params);
const compressor = new ChunkCompressor(init.level, init.params.max);
const credit = new Int32Array(init.credit);
const port = parentPort!;
const READ = 1024 * 1024;
// Twice the largest chunk: compaction then moves at most one chunk's worth of bytes per
// chunk consumed (with max + READ it would move ~max bytes for every average-size chunk).
let buf = Buffer.allocUnsafe(2 * init.params.max + READ);

function post(msg: WorkerMessage & { type: 'chunk' }, cost: number): void {
  while (Atomics.load(credit, 0) <= 0) Atomics.wait(credit, 0, Atomics.load(credit, 0), 1000);
  Atomics.sub(credit, 0, cost);
  // Transfer, don't clone: both buffers are exact-size and owned by this message.
  port.postMessage(msg, [msg.data.buffer as ArrayBuffer, msg.hash.buffer as ArrayBuffer]);
}

function emit(job: number, chunk: Buffer): void {
  const hash = new Uint8Array(createHash('sha256').update(chunk).digest());
  const data = compressor.compress(chunk);
  post({ type: 'chunk', job, hash, raw: chunk.length, data }, data.length);
}

function processFile(job: FileJob): void {
  let fd = -1;
  let size = 0;
  try {
    fd = openSync(job.path, 'r');
    let start = 0;
    let end = 0;
    let eof = false;
    for (;;) {
      while (!eof && end - start < init.params.max) {
        if (buf.length - end < READ) {
          // compact: move the unconsumed tail to the front
          buf.copy(buf, 0, start, end);
          end -= start;
          start = 0;
          if (buf.length - end < READ) {
            const bigger = Buffer.allocUnsafe(end + READ + init.params.max);
            buf.copy(bigger, 0, 0, end);
            buf = bigger;
          }
        }
        const n = readSync(fd, buf, end, READ, null);
        if (n === 0) eof = true;
        end += n;
        size += n;
      }
      if (start === end) break;
      const len = chunker.cut(buf, start, end);
      emit(job.job, buf.subarray(start, start + len));
      start += len;
    }
    port.postMessage({ type: 'end', job: job.job, size } satisfies WorkerMessage);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    port.postMessage({ type: 'end', job: job.job, size, error: `${err.code ?? 'error'}: ${err.message}` } satisfies WorkerMessage);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

port.on('message', (m: FileJob) => processFile(m));
