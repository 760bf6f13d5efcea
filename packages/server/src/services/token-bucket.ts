/**
 * A token bucket: holds at most `capacity` tokens and gains one every `refillEveryMs`. `take()`
 * spends one token and answers false (spending nothing) when the bucket is empty. The clock is
 * injected so tests can move it.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly capacity: number,
    private readonly refillEveryMs: number,
    private readonly now: () => number,
  ) {
    this.tokens = capacity;
    this.at = now();
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket is full again: it can be forgotten without changing any answer. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  private refill(): void {
    const t = this.now();
    if (t <= this.at) return;
    this.tokens = Math.min(this.capacity, this.tokens + (t - this.at) / this.refillEveryMs);
    this.at = t;
  }
}
