/**
 * In-process fan-out of job frames to browser subscribers (spec §6.1 WS /api/jobs/:id/stream).
 * Frames are passed through unchanged. Subscribers must subscribe *before* reading the job's
 * state from the store, so a job that finishes in between is never missed (late-subscriber
 * race, see the seed's commit notes); ws/job-stream.ts does exactly that.
 */
export type JobFrame = { type: string; job_id: string } & Record<string, unknown>;

export class JobHub {
  private readonly subs = new Map<string, Set<(f: JobFrame) => void>>();

  subscribe(jobId: string, fn: (f: JobFrame) => void): () => void {
    let set = this.subs.get(jobId);
    if (!set) this.subs.set(jobId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.subs.delete(jobId);
    };
  }

  publish(frame: JobFrame): void {
    const set = this.subs.get(frame.job_id);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(frame);
      } catch {
        // A broken subscriber must not stop the others.
      }
    }
  }

  subscriberCount(jobId: string): number {
    return this.subs.get(jobId)?.size ?? 0;
  }
}
