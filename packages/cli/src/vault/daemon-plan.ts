/** What the vault daemon remembers between wake-ups (times in ms since the epoch; 0 = never). */
export interface DaemonState {
  dirty: boolean;
  lastRun: number;
  lastFull: number;
}

export interface DaemonTiming {
  backupIntervalMs: number;
  minTimeBetweenRunMs: number;
  fullScanIntervalMs: number;
}

export type DaemonDecision = { run: false } | { run: true; full: boolean };

/**
 * Whether the daemon backs up at `now`: something changed and backup_interval has passed since
 * the last run, or a full scan is due — and never sooner than min_time_between_run after the
 * last run. Pure, so the rules are tested without waiting on a clock.
 */
export function decide(s: DaemonState, t: DaemonTiming, now: number): DaemonDecision {
  const sinceRun = now - s.lastRun;
  const full = now - s.lastFull >= t.fullScanIntervalMs;
  const due = (s.dirty && sinceRun >= t.backupIntervalMs) || full;
  return due && sinceRun >= t.minTimeBetweenRunMs ? { run: true, full } : { run: false };
}
