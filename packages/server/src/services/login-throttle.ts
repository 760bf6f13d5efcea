/**
 * Failed-login throttling keyed by (account, client IP). After `free` failures each further
 * attempt from that pair must wait a doubling delay (1 s, 2 s, 4 s … capped at `maxDelayMs`).
 * Because the key includes the IP, an attacker elsewhere cannot lock the real user out: their
 * own IP starts with a clean slate, and nothing is ever locked permanently. A success resets
 * the pair. In memory only, bounded to `maxEntries` (oldest evicted first).
 */
export class LoginThrottle {
  private readonly entries = new Map<string, { failures: number; until: number }>();

  constructor(
    private readonly now: () => number,
    private readonly free = 5,
    private readonly maxDelayMs = 15 * 60_000,
    private readonly maxEntries = 50_000,
  ) {}

  private key(username: string, ip: string): string {
    return `${username.toLowerCase()}\u0000${ip}`;
  }

  /** Milliseconds the pair must still wait; 0 = may try now. */
  retryAfterMs(username: string, ip: string): number {
    const e = this.entries.get(this.key(username, ip));
    return e ? Math.max(0, e.until - this.now()) : 0;
  }

  fail(username: string, ip: string): void {
    const k = this.key(username, ip);
    const e = this.entries.get(k) ?? { failures: 0, until: 0 };
    e.failures += 1;
    const over = e.failures - this.free;
    e.until = over >= 0 ? this.now() + Math.min(this.maxDelayMs, 1000 * 2 ** over) : 0;
    this.entries.delete(k);
    this.entries.set(k, e);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  succeed(username: string, ip: string): void {
    this.entries.delete(this.key(username, ip));
  }
}
