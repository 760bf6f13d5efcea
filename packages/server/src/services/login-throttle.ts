import type { LoginAttemptKey, LoginAttemptRepository, LoginAttemptRow } from '../repositories/login-attempt.repository.js';
import { iso } from './context.js';

/** How many attempts one counter allows before each further one must wait a doubling delay. */
export interface ThrottleRule {
  /** Attempts evaluated without delay. */
  free: number;
  /** Cap of the doubling delay (1 s, 2 s, 4 s … after the free attempts). */
  maxDelayMs: number;
  /** A counter idle this long after its last allowed time starts again from zero. */
  forgetMs: number;
}

export interface ThrottleRules {
  /** One account from one client address. */
  pair: ThrottleRule;
  /** One account from every address that never signed in to it (the per-account limit). */
  account: ThrottleRule;
  /** How long a successful sign-in makes its address `known` (exempt from the account limit). */
  knownMs: number;
}

export const DEFAULT_THROTTLE_RULES: ThrottleRules = {
  pair: { free: 5, maxDelayMs: 15 * 60_000, forgetMs: 24 * 3_600_000 },
  account: { free: 20, maxDelayMs: 60_000, forgetMs: 3_600_000 },
  knownMs: 30 * 24 * 3_600_000,
};

/** What `reserve` decided: evaluate the password now, or answer 429 and wait `retryAfterMs`. */
export type Reservation = { ok: true } | { ok: false; retryAfterMs: number };

/** Compare-and-set rounds before a reservation gives up under contention (answered as a 1 s wait). */
const MAX_ROUNDS = 64;

/**
 * Sign-in throttle (decision server-0003), state in the store so it holds across replicas and
 * restarts. An attempt is reserved BEFORE the password is checked, with a compare-and-set on
 * the row's counter, so N parallel guesses take N distinct slots and at most `free` of them are
 * evaluated before the delay starts. Two counters: (account, address) and — unless the address
 * signed in to this account before — the account alone, whichever is further along decides.
 * A success clears both and marks the address known; nothing is ever locked for longer than
 * the rule's cap, and a known address is never slowed by guesses made from elsewhere.
 */
export class LoginThrottle {
  constructor(
    private readonly repo: LoginAttemptRepository,
    private readonly now: () => number,
    private readonly rules: ThrottleRules = DEFAULT_THROTTLE_RULES,
  ) {}

  /** Takes one attempt for (username, ip); call before verifying the password. */
  async reserve(username: string, ip: string): Promise<Reservation> {
    const pair = await this.take({ scope: 'pair', username, ip }, this.rules.pair);
    if (!pair.ok || (await this.isKnown(username, ip))) return pair;
    return this.take({ scope: 'account', username, ip: '' }, this.rules.account);
  }

  /** A verified password: forgets both counters and remembers the address for this account. */
  async succeed(username: string, ip: string): Promise<void> {
    await this.repo.clear({ scope: 'pair', username, ip });
    await this.repo.clear({ scope: 'account', username, ip: '' });
    await this.repo.touch({ scope: 'known', username, ip }, iso(this.now()));
  }

  /** Milliseconds before (username, ip) may try again; 0 = now. Read-only. */
  async retryAfterMs(username: string, ip: string): Promise<number> {
    const pair = this.waitOf(await this.repo.find({ scope: 'pair', username, ip }), this.rules.pair);
    if (await this.isKnown(username, ip)) return pair;
    return Math.max(pair, this.waitOf(await this.repo.find({ scope: 'account', username, ip: '' }), this.rules.account));
  }

  /** Deletes counters and known addresses nobody needs any more. */
  async purge(): Promise<void> {
    const now = this.now();
    await this.repo.purge('pair', iso(now - this.rules.pair.forgetMs - this.rules.pair.maxDelayMs));
    await this.repo.purge('account', iso(now - this.rules.account.forgetMs - this.rules.account.maxDelayMs));
    await this.repo.purge('known', iso(now - this.rules.knownMs));
  }

  private async isKnown(username: string, ip: string): Promise<boolean> {
    const row = await this.repo.find({ scope: 'known', username, ip });
    return !!row && Date.parse(row.updated_at) + this.rules.knownMs > this.now();
  }

  /** The row's attempts, or 0 when it was idle past `forgetMs`. */
  private attemptsOf(row: LoginAttemptRow, rule: ThrottleRule): number {
    return Date.parse(row.next_at) + rule.forgetMs <= this.now() ? 0 : row.attempts;
  }

  private waitOf(row: LoginAttemptRow | undefined, rule: ThrottleRule): number {
    if (!row || this.attemptsOf(row, rule) < rule.free) return 0;
    return Math.max(0, Date.parse(row.next_at) - this.now());
  }

  private async take(key: LoginAttemptKey, rule: ThrottleRule): Promise<Reservation> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = this.now();
      const row = await this.repo.find(key);
      if (!row) {
        await this.repo.ensure(key, iso(now));
        continue;
      }
      const wait = this.waitOf(row, rule);
      if (wait > 0) return { ok: false, retryAfterMs: wait };
      const n = this.attemptsOf(row, rule) + 1;
      const delay = n >= rule.free ? Math.min(rule.maxDelayMs, 1000 * 2 ** (n - rule.free)) : 0;
      if (await this.repo.advance(key, row.attempts, n, iso(now + delay), iso(now))) return { ok: true };
    }
    return { ok: false, retryAfterMs: 1000 };
  }
}
