/** A send rate: a token bucket of `burst` frames refilled at `perSecond`. */
export interface SendRate {
  burst: number;
  perSecond: number;
}

/**
 * Paces outgoing frames with a token bucket so the agent stays below the server's frame limit
 * (docs/protocol.md §2). `take()` spends one token when there is one; `waitMs()` says how long
 * until the next token.
 */
export class Pacer {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: SendRate,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = rate.burst;
    this.at = now();
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until `n` tokens (at most the burst) are available. */
  waitMs(n = 1): number {
    this.refill();
    const want = Math.min(n, this.rate.burst);
    return this.tokens >= want ? 0 : Math.ceil(((want - this.tokens) * 1000) / this.rate.perSecond);
  }

  private refill(): void {
    const t = this.now();
    if (t <= this.at) return;
    this.tokens = Math.min(this.rate.burst, this.tokens + ((t - this.at) * this.rate.perSecond) / 1000);
    this.at = t;
  }
}
