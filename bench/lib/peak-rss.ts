/**
 * Peak resident memory of another process, by polling its VmHWM ("high water mark") in
 * /proc/<pid>/status. VmHWM only grows, so the last reading before exit is the peak.
 * Linux only; elsewhere the result stays 0.
 */
import { readFileSync } from 'node:fs';

export interface PeakRss {
  /** KiB */
  readonly peakKb: number;
  stop(): number;
}

export function trackPeakRss(pid: number, everyMs = 100): PeakRss {
  let peak = 0;
  const sample = (): void => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    get peakKb() {
      return peak;
    },
    stop() {
      sample();
      clearInterval(timer);
      return peak;
    },
  };
}

/** Child processes of `pid` (from /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
