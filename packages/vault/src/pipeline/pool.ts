/**
 * A pool of chunk workers (one per core by default). Files are handed out as workers
 * become free; every message comes back through `onMessage` on the main thread, and
 * the consumer returns the chunk's ring space with `release()` once it is packed.
 * Memory per worker is fixed: its read buffer (max chunk + 512 KiB), its ring
 * (one largest frame + RING_SLACK) and zstd's context.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChunkerParams } from '../chunker.js';
import { compressedBound } from '../zstd-raw.js';
import type { WorkerInit, WorkerMessage, WorkerPost } from './protocol.js';

function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const js = path.join(path.dirname(here), 'chunk-worker.js');
  if (existsSync(js)) return js;
  // Running from TypeScript sources (tests): use the compiled worker from dist/.
  const dist = path.resolve(path.dirname(here), '..', '..', 'dist', 'pipeline', 'chunk-worker.js');
  if (!existsSync(dist)) throw new Error(`chunk worker not built: run \`npx tsc -b\` (missing ${dist})`);
  return dist;
}

interface Slot {
  worker: Worker;
  free: Int32Array;
  ring: Buffer;
  busy: number;
  /** Bytes of submitted, unfinished files. */
  queued: number;
}

/** Ring space beyond one largest frame: lets a worker run ahead of the packer by about this much. */
const RING_SLACK = 1024 * 1024;

/** A worker may have further files queued behind its current one only while its backlog is below this. */
const BACKLOG_BYTES = 2 * 1024 * 1024;

export class ChunkPool {
  private readonly slots: Slot[] = [];
  private readonly jobs = new Map<number, Slot>();
  private readonly sizes = new Map<number, number>();
  private nextJob = 1;
  private failure: Error | null = null;

  constructor(
    params: ChunkerParams,
    level: number,
    private readonly onMessage: (m: WorkerMessage) => void,
    opts: { workers?: number; ringSlack?: number } = {},
  ) {
    const n = opts.workers ?? Math.max(1, Math.min(os.availableParallelism(), 4));
    const script = workerScript();
    for (let i = 0; i < n; i++) {
      const freeSab = new SharedArrayBuffer(4);
      const free = new Int32Array(freeSab);
      const ringSab = new SharedArrayBuffer(32 + compressedBound(params.max) + (opts.ringSlack ?? RING_SLACK));
      free[0] = ringSab.byteLength;
      const worker = new Worker(script, {
        workerData: { params, level, ring: ringSab, free: freeSab } satisfies WorkerInit,
        // The workers allocate little on their JS heaps; keep V8 from growing them.
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
      });
      const slot: Slot = { worker, free, ring: Buffer.from(ringSab), busy: 0, queued: 0 };
      worker.on('message', (m: WorkerPost) => {
        if (m.type === 'end') {
          slot.busy--;
          slot.queued -= this.sizes.get(m.job) ?? 0;
          this.sizes.delete(m.job);
          this.onMessage(m);
        } else {
          const hash = slot.ring.subarray(m.off, m.off + 32);
          const data = slot.ring.subarray(m.off + 32, m.off + 32 + m.len);
          this.onMessage({ type: 'chunk', job: m.job, hash, raw: m.raw, data, cost: m.cost });
        }
      });
      worker.on('error', (e) => {
        this.failure = e;
      });
      this.slots.push(slot);
    }
  }

  get error(): Error | null {
    return this.failure;
  }

  private free(): Slot | undefined {
    return this.slots.find((s) => s.busy === 0) ?? this.slots.find((s) => s.busy < 64 && s.queued < BACKLOG_BYTES);
  }

  /** Some worker is idle, or has only a small backlog (so one large file never strands queued work). */
  get hasCapacity(): boolean {
    return this.free() !== undefined;
  }

  /** Submits a file of about `size` bytes; returns its job id. Call only when hasCapacity. */
  submit(file: string, size: number): number {
    const slot = this.free() ?? this.slots[0]!;
    const job = this.nextJob++;
    slot.busy++;
    slot.queued += size;
    this.sizes.set(job, size);
    this.jobs.set(job, slot);
    slot.worker.postMessage({ type: 'file', job, path: file });
    return job;
  }

  /** Frees a chunk's ring space (its message's `cost`); call in message order, once the chunk's views are done with. */
  release(job: number, cost: number): void {
    const slot = this.jobs.get(job);
    if (!slot) return;
    Atomics.add(slot.free, 0, cost);
    Atomics.notify(slot.free, 0);
  }

  /** Call once the consumer has processed a job's `end` message. */
  forget(job: number): void {
    this.jobs.delete(job);
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
