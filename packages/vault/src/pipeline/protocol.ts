/** Messages between the backup main thread and the chunk workers. */
import type { ChunkerParams } from '../chunker.js';

export interface WorkerInit {
  params: ChunkerParams;
  level: number;
  /** Int32Array[1] on a SharedArrayBuffer: bytes the worker may still post before waiting. */
  credit: SharedArrayBuffer;
}

export interface FileJob {
  type: 'file';
  job: number;
  path: string;
}

export type WorkerMessage =
  | { type: 'chunk'; job: number; hash: Uint8Array; raw: number; data: Uint8Array }
  | { type: 'end'; job: number; size: number; error?: string };
