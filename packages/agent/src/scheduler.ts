import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { parseScheduleSet } from './wire.js';
import type { ScheduleSetFrame, ScheduleSpec } from './wire.js';
import type { Logger } from './log.js';
import { readIfExists, writeFileAtomic } from './state/atomic.js';
import type { JobRequest } from './jobs/runner.js';


export interface SchedulerDeps {
  /** Where the last-known-good schedule set is persisted. */
  file: string;
  submit: (req: JobRequest) => void;
  /** True while a job of this schedule is queued or running: the fire is skipped. */
  busy: (scheduleId: string) => boolean;
  log: Logger;
}

/** Builds the job a schedule fires (its arguments follow the command.run schemas). */
export function jobForSchedule(s: ScheduleSpec): JobRequest {
  const bw = { ...(s.options.limit_upload_kbps ? { limit_upload_kbps: s.options.limit_upload_kbps } : {}), ...(s.options.limit_download_kbps ? { limit_download_kbps: s.options.limit_download_kbps } : {}) };
  let args: Record<string, unknown> = {};
  if (s.kind === 'backup') {
    args = {
      paths: s.paths, excludes: s.excludes, tags: s.tags, ...bw,
      ...(s.pre_hook ? { pre_hook: s.pre_hook } : {}), ...(s.post_hook ? { post_hook: s.post_hook } : {}), ...(s.run_as ? { run_as: s.run_as } : {}),
    };
  } else if (s.kind === 'forget') {
    args = { policy: s.retention_policy ?? {}, prune: false, ...bw };
  } else if (s.kind === 'prune') {
    args = bw;
  }
  return { jobId: randomUUID(), kind: s.kind, args, scheduleId: s.id };
}

/**
 * The local cron (spec §6.2 "Schedule reconciliation"): applies `schedule.set`, persists it as
 * last-known-good, and keeps firing it whether or not the server is reachable. Jobs it creates
 * carry an agent-generated UUID and the schedule id.
 */
export class LocalScheduler {
  private crons: { id: string; cron: Cron }[] = [];
  private version: number | null = null;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Loads and starts the last-known-good schedule set, if any. Returns its version. */
  loadPersisted(): number | null {
    const raw = readIfExists(this.deps.file);
    if (!raw) return null;
    let parsed;
    try {
      parsed = parseScheduleSet(JSON.parse(raw.toString('utf8')));
    } catch {
      parsed = null;
    }
    if (!parsed?.ok) {
      this.deps.log.error(`${this.deps.file} is corrupt; no local schedule until the server sends one`);
      return null;
    }
    this.install(parsed.value);
    return this.version;
  }

  /** Applies a schedule.set: replaces every cron, persists the set. Returns the version to ack. */
  apply(set: ScheduleSetFrame): number {
    writeFileAtomic(this.deps.file, JSON.stringify(set));
    this.install(set);
    return set.schedule_version;
  }

  appliedVersion(): number | null {
    return this.version;
  }

  /** Next fire times (for dump-state and tests). */
  nextRuns(): { id: string; next: string | null }[] {
    return this.crons.map((c) => ({ id: c.id, next: c.cron.nextRun()?.toISOString() ?? null }));
  }

  stop(): void {
    for (const c of this.crons) c.cron.stop();
    this.crons = [];
  }

  private install(set: ScheduleSetFrame): void {
    this.stop();
    this.version = set.schedule_version;
    for (const s of set.schedules) {
      if (!s.enabled) continue;
      try {
        const cron = new Cron(s.cron_expr, { ...(s.time_zone ? { timezone: s.time_zone } : {}), protect: true }, () => this.fire(s));
        this.crons.push({ id: s.id, cron });
      } catch (err) {
        this.deps.log.error('invalid cron expression in schedule; it will not fire', { schedule_id: s.id, cron: s.cron_expr, error: (err as Error).message });
      }
    }
    this.deps.log.info('schedule applied', { schedule_version: set.schedule_version, active: this.crons.length });
  }

  private fire(s: ScheduleSpec): void {
    if (this.deps.busy(s.id)) {
      this.deps.log.warn('schedule fired while its previous job is still queued or running; skipping this run', { schedule_id: s.id });
      return;
    }
    const job = jobForSchedule(s);
    this.deps.log.info('schedule fired', { schedule_id: s.id, job_id: job.jobId, kind: s.kind });
    this.deps.submit(job);
  }
}
