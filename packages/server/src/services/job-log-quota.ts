/** How much log one job may store (docs/protocol.md "log.stream"). */
export interface JobLogLimits {
  /** Lines stored per job; the next one is replaced by one truncation marker, the rest dropped. */
  maxLines: number;
  /** Payload bytes (UTF-8) stored per job; reaching it truncates the same way. */
  maxBytes: number;
}

export const JOB_LOG_LIMITS: Readonly<JobLogLimits> = { maxLines: 10_000, maxBytes: 8 * 1024 * 1024 };

/** What to do with one log line: store it, store the truncation marker instead, or drop it. */
export type LogVerdict = { kind: 'store' } | { kind: 'marker'; payload: string } | { kind: 'drop' };

interface Usage {
  lines: number;
  bytes: number;
  /** seq of the marker line once the job was truncated in this process (null: before a restart). */
  markerSeq: number | null;
  truncated: boolean;
  dropped: number;
}

/** Jobs tracked at once; the oldest is forgotten beyond it (it is re-read from the store if it logs again). */
const MAX_TRACKED = 10_000;

/**
 * Per-job log quota, in memory. The first line of a job seen by this process loads what the
 * store already holds (`usage`), so a restart neither resets nor double-counts the quota.
 * Frames of one job arrive on one connection, in order, so no two calls race for a job.
 */
export class JobLogQuota {
  private readonly used = new Map<string, Usage>();
  private readonly lateWarned = new Set<string>();

  constructor(
    private readonly usage: (jobId: string) => Promise<{ lines: number; bytes: number }>,
    private readonly limits: Readonly<JobLogLimits> = JOB_LOG_LIMITS,
  ) {}

  async admit(jobId: string, seq: number, payload: string): Promise<LogVerdict> {
    const u = await this.load(jobId);
    if (u.truncated) {
      u.dropped++;
      return { kind: 'drop' };
    }
    const bytes = Buffer.byteLength(payload, 'utf8');
    if (u.lines < this.limits.maxLines && u.bytes + bytes <= this.limits.maxBytes) return { kind: 'store' };
    u.truncated = true;
    u.markerSeq = seq;
    u.dropped = 1;
    return { kind: 'marker', payload: this.marker(u) };
  }

  /** Counts a line the store accepted (a replayed, already stored line is not counted). */
  stored(jobId: string, payload: string): void {
    const u = this.used.get(jobId);
    if (!u) return;
    u.lines++;
    u.bytes += Buffer.byteLength(payload, 'utf8');
  }

  /**
   * The job ended: forgets it. Returns the marker to rewrite with the final count of dropped
   * lines, or null when nothing was truncated in this process.
   */
  finish(jobId: string): { seq: number; payload: string; dropped: number } | null {
    const u = this.used.get(jobId);
    this.used.delete(jobId);
    this.lateWarned.delete(jobId);
    if (!u?.truncated || u.markerSeq === null) return null;
    return { seq: u.markerSeq, payload: this.marker(u), dropped: u.dropped };
  }

  /** A line for a job that already ended: true the first time (log it once), false after. */
  late(jobId: string): boolean {
    if (this.lateWarned.has(jobId)) return false;
    if (this.lateWarned.size >= MAX_TRACKED) this.lateWarned.clear();
    this.lateWarned.add(jobId);
    return true;
  }

  private marker(u: Usage): string {
    const why = u.lines >= this.limits.maxLines ? `${this.limits.maxLines} lines` : `${this.limits.maxBytes} bytes`;
    return `log truncated after ${u.lines} lines (limit ${why} per job); ${u.dropped} later line${u.dropped === 1 ? ' was' : 's were'} dropped`;
  }

  private async load(jobId: string): Promise<Usage> {
    let u = this.used.get(jobId);
    if (u) return u;
    const s = await this.usage(jobId);
    u = { lines: s.lines, bytes: s.bytes, markerSeq: null, truncated: s.lines > this.limits.maxLines || s.bytes > this.limits.maxBytes, dropped: 0 };
    if (this.used.size >= MAX_TRACKED) {
      const oldest = this.used.keys().next().value;
      if (oldest !== undefined) this.used.delete(oldest);
    }
    this.used.set(jobId, u);
    return u;
  }
}
