import type { ServiceDeps } from './context.js';
import { ALWAYS_HELD } from './leases.js';
import type { LeaseHolder } from './leases.js';
import { OneAtATime, Ticker } from './ticker.js';

/**
 * The server's clock for copies (docs/copies.md): every second it fires the `schedule` policies
 * with a fire time in (last tick, now], like the maintenance scheduler; every minute it
 * re-evaluates the 3-2-1 status of every host (the `copy_behind` alert depends on time alone).
 * Both go through the injectable clock `d.now`, so tests call `tick()` with a moved clock.
 */
export class CopyScheduler {
  private readonly ticker: Ticker;
  private last: number;
  private lastEvaluation = 0;
  private readonly serial = new OneAtATime();

  constructor(
    private readonly d: ServiceDeps,
    private readonly policies: { fireDue(since: number, now: number): Promise<string[]> },
    private readonly status: { evaluateAll(): Promise<void> },
    private readonly tickMs = 1000,
    private readonly evaluateEveryMs = 60_000,
    /** The `copy-scheduler` lease: only its holder fires and evaluates (several server processes, issue 17). */
    private readonly leases: LeaseHolder = ALWAYS_HELD,
  ) {
    this.ticker = new Ticker(() => this.tick(false), this.tickMs, () => (this.last = this.d.now()));
    this.last = d.now();
  }

  start(): void {
    this.ticker.start();
  }

  stop(): void {
    this.ticker.stop();
  }

  /** Fires due policies and (when `evaluate`, or a minute passed) re-evaluates the status; returns the copy job ids queued. */
  tick(evaluate = true): Promise<string[]> {
    return this.serial.run(() => this.tickOnce(evaluate));
  }

  private async tickOnce(evaluate: boolean): Promise<string[]> {
    const now = this.d.now();
    let created: string[] = [];
    try {
      if (!(await this.leases.held('copy-scheduler'))) return created;
      created = await this.policies.fireDue(this.last, now);
      if (evaluate || now - this.lastEvaluation >= this.evaluateEveryMs) {
        this.lastEvaluation = now;
        await this.status.evaluateAll();
      }
    } catch (err) {
      this.d.log.error({ err: (err as Error).message }, 'copy scheduler tick failed');
    } finally {
      this.last = now;
    }
    return created;
  }
}
