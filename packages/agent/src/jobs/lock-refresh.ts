import type { Connection, Engine } from '@restic-manager/engines';
import type { Logger } from '../log.js';
import type { Emit } from './job-events.js';

export interface LockRefreshDeps {
  /** Between two listings while the agent is idle, ms; 0 turns the periodic listing off. */
  intervalMs: number;
  /** The host's own repository (routine credentials), or null before the first config.update. */
  conn: () => Connection | null;
  /** True while a job runs: its end lists the locks anyway, and a listing would race its lock. */
  busy: () => boolean;
  emit: Emit;
  log: Logger;
}

/**
 * The cheap periodic path of the lock view (issue 22): while no job runs, `restic list locks`
 * + `cat lock` (both --no-lock: they never take or wait for a lock) every `intervalMs`, sent as
 * a `repo.stats` without job or figures. Armed after a job (the engine is loaded by then, so an
 * agent that never ran a job never pays for it); `stop()` disarms it. Never throws.
 */
export class LockRefresher {
  private timer: NodeJS.Timeout | null = null;
  private engine: Engine | null = null;
  private stopped = false;

  constructor(private readonly d: LockRefreshDeps) {}

  /** (Re)starts the interval after a job, with the engine that job used. */
  arm(engine: Engine): void {
    if (this.stopped || this.d.intervalMs <= 0 || !engine.locks) return;
    this.engine = engine;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), this.d.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    this.timer = null;
    const engine = this.engine;
    const conn = this.d.conn();
    if (engine?.locks && conn && !this.d.busy()) {
      try {
        const l = await engine.locks(conn, { timeoutMs: 60_000 });
        if (l.ok && !this.stopped && !this.d.busy()) {
          this.d.emit({ type: 'repo.stats', size_bytes: null, snapshot_count: null, dedup_ratio: null, locks: l.value, lock_state: l.value.length ? 'locked' : 'unlocked' });
        } else if (!l.ok) this.d.log.warn('cannot list repository locks', { error: l.error.message });
      } catch (err) {
        this.d.log.warn('cannot list repository locks', { error: String(err) });
      }
    }
    if (engine) this.arm(engine);
  }
}
