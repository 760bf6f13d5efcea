import type { Logger } from '../log.js';

/** How a capped job's wait ended: the server granted a slot, the control plane stayed away too long, or it was cancelled. */
export type SlotOutcome = 'granted' | 'offline' | 'cancelled';

/** Default of `SlotGate` `offlineWaitMs`: 10 minutes without the server, then the job runs anyway. */
export const SLOT_OFFLINE_WAIT_MS = 10 * 60_000;

interface Waiter {
  ask: () => void;
  done: (o: SlotOutcome) => void;
}

/**
 * Scheduled jobs under a concurrency cap (issue 21, docs/schedules.md "Concurrency caps") wait
 * here for the server's `slot.grant`. `ask` (the job.queued report with `awaiting_slot`) is
 * called at once when connected and again after every reconnect, so a grant lost with a
 * connection is asked for again. While the server is unreachable a timer of `offlineWaitMs`
 * runs; when it fires every waiting job starts without a slot (caps are best effort while the
 * control plane is away). A reconnect stops the timer.
 */
export class SlotGate {
  private readonly waiting = new Map<string, Waiter>();
  private online = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: { offlineWaitMs?: number; log: Logger }) {}

  /** Resolves when job `jobId` may start (or was cancelled while waiting). */
  wait(jobId: string, ask: () => void): Promise<SlotOutcome> {
    return new Promise((resolve) => {
      this.waiting.set(jobId, { ask, done: resolve });
      if (this.online) ask();
      else this.armTimer();
    });
  }

  /** `slot.grant`: the job may start. A grant for a job not waiting here is ignored. */
  grant(jobId: string): boolean {
    return this.finish(jobId, 'granted');
  }

  /** Ends a wait as cancelled; false when the job is not waiting here. */
  cancel(jobId: string): boolean {
    return this.finish(jobId, 'cancelled');
  }

  has(jobId: string): boolean {
    return this.waiting.has(jobId);
  }

  /** The connection came up (hello done) or went down. */
  setOnline(online: boolean): void {
    if (online === this.online) return;
    this.online = online;
    if (online) {
      this.clearTimer();
      for (const w of this.waiting.values()) w.ask();
    } else if (this.waiting.size > 0) {
      this.armTimer();
    }
  }

  private finish(jobId: string, o: SlotOutcome): boolean {
    const w = this.waiting.get(jobId);
    if (!w) return false;
    this.waiting.delete(jobId);
    if (this.waiting.size === 0) this.clearTimer();
    w.done(o);
    return true;
  }

  private armTimer(): void {
    if (this.timer) return;
    const ms = this.opts.offlineWaitMs ?? SLOT_OFFLINE_WAIT_MS;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.online) return;
      const ids = [...this.waiting.keys()];
      if (ids.length) this.opts.log.warn('the server stayed unreachable while scheduled jobs waited for a concurrency slot; starting them without one', { jobs: ids.length, waited_ms: ms });
      for (const id of ids) this.finish(id, 'offline');
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
