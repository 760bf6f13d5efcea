import type { ServiceDeps } from './context.js';
import { ALWAYS_HELD } from './leases.js';
import type { LeaseHolder } from './leases.js';
import { OneAtATime, Ticker } from './ticker.js';

/** The lease that makes the control-plane backup fire once per fleet (several server processes on one database). */
export const CONTROL_PLANE_LEASE = 'control-plane-backup';

/**
 * The server's clock for the control-plane backup (docs/operations.md): every `tickMs`, and only
 * while this process holds the `control-plane-backup` lease, it asks the service whether a fire
 * time passed since the last run (kept in the database, so a takeover misses nothing). The time
 * comes from the injectable clock `d.now`, so tests call `tick()` with a moved clock.
 */
export class ControlPlaneBackupScheduler {
  private readonly ticker: Ticker;
  private readonly serial = new OneAtATime();

  constructor(
    private readonly d: ServiceDeps,
    private readonly backups: { fireDue(now: number): Promise<boolean> },
    private readonly leases: LeaseHolder = ALWAYS_HELD,
    private readonly tickMs = 5000,
  ) {
    this.ticker = new Ticker(() => this.tick(), this.tickMs);
  }

  start(): void {
    this.ticker.start();
  }

  stop(): void {
    this.ticker.stop();
  }

  /** Runs the backup when it is due and this process holds the lease; returns whether it ran. */
  tick(): Promise<boolean> {
    return this.serial.run(() => this.tickOnce());
  }

  private async tickOnce(): Promise<boolean> {
    const now = this.d.now();
    try {
      if (!(await this.leases.held(CONTROL_PLANE_LEASE))) return false;
      return await this.backups.fireDue(now);
    } catch (err) {
      this.d.log.error({ err: (err as Error).message }, 'control-plane backup tick failed');
      return false;
    }
  }
}
