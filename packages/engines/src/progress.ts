import type { BackupSummary, Progress } from './types.js';

/**
 * Rate-limits progress events: at most one per `intervalMs`, the latest value wins, and `flush()`
 * always delivers the final state (even when it arrives inside the interval).
 */
export class ProgressCoalescer {
  private last = 0;
  private pending: Progress | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sink: ((p: Progress) => void) | undefined,
    private readonly intervalMs = 500,
    private readonly now: () => number = Date.now,
  ) {}

  push(p: Progress): void {
    if (!this.sink) return;
    const t = this.now();
    if (t - this.last >= this.intervalMs) {
      this.deliver(p, t);
      return;
    }
    this.pending = p;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.pending) this.deliver(this.pending, this.now());
    }, this.intervalMs - (t - this.last));
  }

  /** Delivers `final` (or the pending event) immediately and stops the timer. */
  flush(final?: Progress): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const p = final ?? this.pending;
    if (p && this.sink) this.deliver(p, this.now());
  }

  private deliver(p: Progress, t: number): void {
    this.pending = undefined;
    this.last = t;
    try {
      this.sink?.(p);
    } catch {
      // a throwing listener must not break the backup
    }
  }
}

/** Throughput over a sliding window of (time, bytes) samples, bytes/s. */
export class ThroughputMeter {
  private samples: [number, number][] = [];
  constructor(private readonly windowMs = 5000) {}
  sample(tMs: number, bytes: number): number | null {
    this.samples.push([tMs, bytes]);
    while (this.samples.length > 2 && tMs - (this.samples[0]?.[0] ?? tMs) > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    if (!first || tMs - first[0] < 200) return null;
    return Math.max(0, ((bytes - first[1]) * 1000) / (tMs - first[0]));
  }
}

export function emptyProgress(): Progress {
  return {
    percentDone: 0,
    filesDone: 0,
    totalFiles: null,
    bytesDone: 0,
    totalBytes: null,
    etaSeconds: null,
    throughputBps: null,
    elapsedSeconds: 0,
    currentFiles: [],
    errorCount: 0,
  };
}

/** The 100% event delivered when a backup's summary arrives. */
export function finalBackupProgress(last: Progress, summary: BackupSummary, elapsedSeconds: number): Progress {
  return {
    ...last,
    percentDone: 1,
    filesDone: summary.totalFilesProcessed,
    totalFiles: summary.totalFilesProcessed,
    bytesDone: summary.totalBytesProcessed,
    totalBytes: summary.totalBytesProcessed,
    etaSeconds: 0,
    elapsedSeconds,
    currentFiles: [],
  };
}
