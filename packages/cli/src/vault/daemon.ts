/**
 * `vault backup --daemon`: fs.watch (inotify on Linux) marks the sources dirty; a
 * backup runs when something is dirty and backup_interval has passed since the last
 * one, never sooner than min_time_between_run after it, and unconditionally (a full
 * stat scan) every full_scan_interval. Every run is crash-safe, so SIGTERM just exits.
 */
import { watch, type FSWatcher } from 'node:fs';
import { backupAll, type Storage, type VaultConfig } from '@restic-manager/vault';
import { describeError } from './common.js';
import { reportBackup } from './report.js';
import { progressPrinter, type ProgressMode } from './progress.js';
import { decide, type DaemonState } from './daemon-plan.js';

export async function runDaemon(cfg: VaultConfig, storage: Storage, mode: ProgressMode | 'cron'): Promise<number> {
  const state: DaemonState = { dirty: true, lastRun: 0, lastFull: 0 };
  let stopping = false;
  const watchers: FSWatcher[] = [];
  for (const dir of cfg.sourceDirs) {
    try {
      const w = watch(dir, { recursive: true, persistent: false }, () => {
        state.dirty = true;
      });
      w.on('error', () => {
        state.dirty = true;
      });
      watchers.push(w);
    } catch (e) {
      process.stderr.write(`vault daemon: cannot watch ${dir} (${describeError(e)}); relying on full scans\n`);
    }
  }
  const log = (msg: string): void => {
    if (mode !== 'cron') process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
  };
  let wake: (() => void) | null = null;
  const stop = (): void => {
    stopping = true;
    wake?.();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log(`vault daemon: watching ${cfg.sourceDirs.join(', ')}`);
  let failures = 0;
  while (!stopping) {
    const now = Date.now();
    const d = decide(state, cfg, now);
    if (d.run) {
      state.dirty = false;
      state.lastRun = now;
      if (d.full) state.lastFull = now;
      log(`vault daemon: starting ${d.full ? 'full-scan ' : ''}backup`);
      const printer = progressPrinter(mode === 'json' ? 'json' : 'quiet');
      try {
        for (const r of await backupAll(cfg, { storage, onProgress: (p) => printer.update(p) })) {
          reportBackup(r, mode === 'tty' || mode === 'quiet' ? 'quiet' : mode);
          log(`vault daemon: snapshot ${r.snapshotId}${r.name ? ` (${r.name})` : ''} (${r.filesRead} files read)`);
        }
        failures = 0;
      } catch (e) {
        state.dirty = true;
        failures++;
        process.stderr.write(`vault daemon: backup failed: ${describeError(e)}\n`);
      }
    }
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, Math.min(1000, Math.max(100, cfg.minTimeBetweenRunMs / 4)));
    });
    wake = null;
  }
  for (const w of watchers) w.close();
  log('vault daemon: stopped');
  return failures > 0 ? 1 : 0;
}
