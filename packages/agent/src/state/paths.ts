import path from 'node:path';

/** Default state directory (spec §4.2); overridden by `--state-dir` or `RM_AGENT_STATE_DIR`. */
export const DEFAULT_STATE_DIR = '/var/lib/restic-manager';
/** Configuration directory the systemd unit may write to. */
export const DEFAULT_CONFIG_DIR = '/etc/restic-manager';

/** Every file the agent keeps, relative to one state directory. */
export interface StatePaths {
  dir: string;
  /** Server URL, host id, bearer, secrets key (mode 0600). */
  config: string;
  /** AEAD-encrypted repository credentials (mode 0600). */
  secrets: string;
  /** Append-only journal of reports not yet acknowledged by the server. */
  outbox: string;
  /** Last-known-good schedule set (schedule.set as received), sealed like `secrets` (hooks, database passwords). */
  schedules: string;
  /** Where agents before issue 13 kept it in plain text; sealed into `schedules` and removed on load. */
  legacySchedules: string;
  /** Per schedule: its cron and the last fire (or first-applied) time, for missed-run catch-up. */
  scheduleRuns: string;
  /** Jobs running when the agent last wrote it; used to fail jobs lost to a crash. */
  activeJobs: string;
  /** Per repository (hashed): the part of the pack data the next check reads (issue 22). */
  checkRotation: string;
  /** Written by `run`, read by `health-check`. */
  status: string;
  /** Private (0700) per-job directories for credential files; emptied at start (state/job-files.ts). */
  jobFiles: string;
  /** Private (0700) scratch directories of restore drills, one per job, always removed; emptied at start. */
  drills: string;
  /** Containers a running backup has stopped (stop_containers); started again at the next start. */
  stoppedContainers: string;
}

export function resolveStateDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? env.RM_AGENT_STATE_DIR ?? DEFAULT_STATE_DIR);
}

export function statePaths(dir: string): StatePaths {
  return {
    dir,
    config: path.join(dir, 'agent.yaml'),
    secrets: path.join(dir, 'secrets.enc'),
    outbox: path.join(dir, 'outbox.jsonl'),
    schedules: path.join(dir, 'schedules.enc'),
    legacySchedules: path.join(dir, 'schedules.json'),
    scheduleRuns: path.join(dir, 'schedule-runs.json'),
    activeJobs: path.join(dir, 'active-jobs.json'),
    checkRotation: path.join(dir, 'check-rotation.json'),
    status: path.join(dir, 'status.json'),
    jobFiles: path.join(dir, 'job-files'),
    drills: path.join(dir, 'drills'),
    stoppedContainers: path.join(dir, 'stopped-containers.json'),
  };
}
