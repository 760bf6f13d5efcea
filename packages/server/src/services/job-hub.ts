import type { ClusterBus } from '../cluster/bus.js';

/**
 * In-process fan-out of job frames to browser subscribers (spec §6.1 WS /api/jobs/:id/stream).
 * Frames are passed through unchanged. Subscribers must subscribe *before* reading the job's
 * state from the store, so a job that finishes in between is never missed (late-subscriber
 * race, see the seed's commit notes); ws/job-stream.ts does exactly that.
 */
export type JobFrame = { type: string; job_id: string } & Record<string, unknown>;

/**
 * With several replicas (docs/scale-out.md) a `bus` carries the frames published here to the
 * other replicas' hubs, whose browsers may watch the job; frames from the bus are delivered here
 * only (never sent on again).
 *
 * Only while `peers()` says another replica may listen (decision server-0012): a replica alone
 * on its database puts no job frame on the bus, which would cost a seal and a NOTIFY each for
 * no reader. No frame is lost when a replica joins: it is counted as a peer here the moment its
 * hello is handled (cluster-agent-link.ts), and it serves browser streams and agents only after
 * this replica's answer to that hello — sent after the record, and in order with this replica's
 * frames — has reached it. A frame published here before the record was made is one no browser
 * of the new replica could have subscribed to yet.
 */
export class JobHub {
  private readonly subs = new Map<string, Set<(f: JobFrame) => void>>();

  constructor(private readonly bus?: ClusterBus, private readonly peers: () => boolean = () => true) {
    bus?.on('job.frame', (f) => {
      const frame = f as JobFrame;
      if (frame && typeof frame.type === 'string' && typeof frame.job_id === 'string') this.deliver(frame);
    });
  }

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
    this.deliver(frame);
    if (this.bus && this.peers()) this.bus.publish('job.frame', frame);
  }

  private deliver(frame: JobFrame): void {
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
