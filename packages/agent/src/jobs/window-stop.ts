import { WINDOW_STOP_REASON } from '@restic-manager/protocol/windows';
import type { Outcome } from './outcome.js';

/**
 * The `stop` end of a backup window (issue 21): a job the scheduler started in a window whose
 * `at_end` is `stop` carries `stopAt`; when that time comes the job is aborted like a cancel, and
 * its outcome says why ("stopped at the end of its backup window"), not a generic failure.
 */
export class WindowStop {
  private timer: NodeJS.Timeout | null = null;
  private fired = false;

  /** Arms the stop for `stopAt` (ms since the epoch); aborts at once when it already passed. */
  constructor(stopAt: number | undefined, abort: AbortController, now: () => number = Date.now) {
    if (stopAt === undefined) return;
    const fire = (): void => {
      this.fired = true;
      abort.abort();
    };
    // setTimeout holds at most ~24.8 days: a longer wait re-arms.
    const arm = (): void => {
      const wait = stopAt - now();
      if (wait <= 0) fire();
      else this.timer = setTimeout(arm, Math.min(wait, 2 ** 31 - 1));
    };
    arm();
  }

  /** The outcome to report: a run the window stopped is `cancelled` with the window's reason. */
  outcome(o: Outcome): Outcome {
    if (!this.fired || o.status === 'succeeded') return o;
    return { ...o, status: 'cancelled', error: WINDOW_STOP_REASON, errorKind: 'cancelled' };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
