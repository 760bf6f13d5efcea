/** Messages between the backup main thread and the chunk workers. */
import type { ChunkerParams } from '../chunker.js';

export interface WorkerInit {
  params: ChunkerParams;
  level: number;
  /**
   * The worker's ring of compressed chunks, shared with the main thread. Each chunk
   * message occupies `cost` bytes of it (wrap-around padding, the 32-byte SHA-256,
   * the zstd frame) until the main thread releases them, in message order.
   */
  ring: SharedArrayBuffer;
  /** Int32Array[1] on a SharedArrayBuffer: free bytes of the ring. */
  free: SharedArrayBuffer;
}

export interface FileJob {
  type: 'file';
  job: number;
  path: string;
}

/** What a worker posts: a chunk lives in its ring at [off, off + 32 + len): hash, then frame. */
export type WorkerPost =
  | { type: 'chunk'; job: number; off: number; len: number; cost: number; raw: number }
  | { type: 'end'; job: number; size: number; error?: string };

/**
 * What the pool hands the consumer: `hash` and `data` are views into the ring, valid
 * only until `release(job, cost)` (copy what must outlive it).
 */
export type WorkerMessage =
  | { type: 'chunk'; job: number; hash: Uint8Array; raw: number; data: Uint8Array; cost: number }
  | { type: 'end'; job: number; size: number; error?: string };
