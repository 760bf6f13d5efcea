/**
 * "Has `key` been seen in the last `windowMs`?" with bounded memory: the API-token service uses
 * it to write last-used times and read-audit rows at most once a window per token, and refusal
 * rows at most once a window per (address, reason), so a flood of requests cannot flood the
 * store. Past `max` keys, entries older than the window are dropped, then all of them (a flood
 * of distinct keys costs at most one extra write per key, never unbounded memory).
 */
export class RecentOnce {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly windowMs: number,
    private readonly max = 10_000,
  ) {}

  /** True the first time `key` is offered in a window (and marks it); false within it. */
  first(key: string): boolean {
    const now = this.now();
    const at = this.seen.get(key);
    if (at !== undefined && now - at < this.windowMs) return false;
    if (this.seen.size >= this.max) this.prune(now);
    this.seen.set(key, now);
    return true;
  }

  private prune(now: number): void {
    for (const [k, at] of this.seen) if (now - at >= this.windowMs) this.seen.delete(k);
    if (this.seen.size >= this.max) this.seen.clear();
  }
}
