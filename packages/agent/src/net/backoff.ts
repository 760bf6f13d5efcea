/** Exponential backoff with "equal jitter": half the delay is fixed, half is random. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions) {}

  /** Delay before the next attempt; grows 2x per failure up to maxMs. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const r = (this.opts.random ?? Math.random)();
    return Math.round(base / 2 + (base / 2) * r);
  }

  reset(): void {
    this.attempt = 0;
  }

  failures(): number {
    return this.attempt;
  }
}
