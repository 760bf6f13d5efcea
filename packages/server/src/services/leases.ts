import { randomUUID } from 'node:crypto';
import { LeaseRepository } from '../repositories/lease.repository.js';
import type { Db } from '../store/db.js';

/** What a periodic service asks before doing work that must run once per fleet. */
export interface LeaseHolder {
  /** True when this process holds (or just took, or renewed) lease `name`. Never throws. */
  held(name: string): Promise<boolean>;
}

/** Every process is the holder: for a service used on its own (tests that drive it directly). */
export const ALWAYS_HELD: LeaseHolder = { held: () => Promise.resolve(true) };

/** How long a lease lasts without renewal: a holder that stops renewing loses it after this. */
export const LEASE_TTL_MS = 15_000;

/**
 * This process's leases (docs/scale-out.md). Each periodic tick calls `held(name)`, which renews
 * the lease for LEASE_TTL_MS or takes it when it has expired; the tick runs only when it is held.
 * Wall-clock time, not the services' injectable clock: leases are about real processes.
 */
export class Leases implements LeaseHolder {
  private readonly repo: LeaseRepository;
  private readonly mine = new Set<string>();

  constructor(db: Db, private readonly onError: (name: string, e: Error) => void, readonly holder: string = randomUUID(), private readonly ttlMs = LEASE_TTL_MS) {
    this.repo = new LeaseRepository(db);
  }

  async held(name: string): Promise<boolean> {
    const now = Date.now();
    try {
      const ok = await this.repo.acquire(name, this.holder, new Date(now).toISOString(), new Date(now + this.ttlMs).toISOString());
      if (ok) this.mine.add(name);
      else this.mine.delete(name);
      return ok;
    } catch (e) {
      this.onError(name, e as Error);
      return false;
    }
  }

  /** Gives up every lease this process holds (graceful shutdown). */
  async releaseAll(): Promise<void> {
    for (const name of this.mine) await this.repo.release(name, this.holder).catch(() => undefined);
    this.mine.clear();
  }
}
