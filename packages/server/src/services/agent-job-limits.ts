import { TokenBucket } from '@restic-manager/protocol';

/**
 * How many jobs an agent may create itself (job.queued / job.started with a schedule_id the
 * server has not seen; docs/protocol.md "Agent-created jobs"). Its local scheduler fires each
 * schedule at most once at a time and catches up a missed run once, so a healthy agent stays far
 * below both bounds; a replay after a long outage sends started+finished pairs, one job active at
 * a time, and up to `createBurst` of them at once.
 */
export const AGENT_JOB_LIMITS = {
  /** Agent-created jobs of one host that may be queued or running at the same time. */
  maxActivePerHost: 32,
  /** Jobs a host may create in one go (the token bucket's size)... */
  createBurst: 200,
  /** ...refilled by one every 30 s (120 an hour). */
  refillEveryMs: 30_000,
} as const;

/** One creation bucket per host, in memory (a restart refills them: the bound is per process). */
export class AgentJobRate {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly now: () => number) {}

  /** Spends one creation for `hostId`; false when the host's bucket is empty. */
  take(hostId: string): boolean {
    let b = this.buckets.get(hostId);
    if (!b) {
      if (this.buckets.size >= 10_000) this.forgetFull();
      b = new TokenBucket({ burst: AGENT_JOB_LIMITS.createBurst, perSecond: 1000 / AGENT_JOB_LIMITS.refillEveryMs }, this.now);
      this.buckets.set(hostId, b);
    }
    return b.take();
  }

  private forgetFull(): void {
    for (const [id, b] of this.buckets) if (b.full()) this.buckets.delete(id);
  }
}
