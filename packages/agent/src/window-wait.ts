import { nextAllowedStart, stopDeadline, wallClock } from '@restic-manager/protocol/windows';
import type { ScheduleSpec } from './wire.js';
import type { JobRequest } from './jobs/runner.js';
import { JobEvents } from './jobs/job-events.js';
import type { Emit } from './jobs/job-events.js';
import type { Logger } from './log.js';
import { cronZone } from './timezone.js';

/** A run held for its window, as persisted with the schedule runs (so a restart keeps waiting with the same job). */
export interface WaitingRecord {
  job_id: string;
  start_at: string;
}

export interface WindowWaitDeps {
  submit: (req: JobRequest) => void;
  /** Where the waiting job's frames go (job.queued with the start time, then a log line); absent = log only. */
  emit?: Emit;
  log: Logger;
  now: () => number;
  /** Called when the set of waiting runs changes (the scheduler persists it). */
  changed: () => void;
}

/** Event seqs the wait uses (job.queued 0, one log line 1); the runner numbers from here. */
const FIRST_RUNNER_SEQ = 2;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Held { spec: ScheduleSpec; job: JobRequest; startAt: number }

/**
 * Backup windows in the agent's scheduler (issue 21, docs/schedules.md "Backup windows"): a fire
 * outside its schedule's windows is not dropped: the job is created at once and reported queued
 * ("waiting for its backup window; starts at …"), held here, and handed to the runner when the
 * windows open, carrying the time a `stop` window ends it. While it waits, its schedule counts
 * as busy (a later fire is skipped, as for a running job).
 */
export class WindowWaits {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: WindowWaitDeps) {}

  has(scheduleId: string): boolean {
    return this.held.has(scheduleId);
  }

  /** Submits `job` now when the windows allow it, else holds it until they open. */
  offer(spec: ScheduleSpec, job: JobRequest): void {
    const now = this.d.now();
    const g = gate(spec, now);
    if (g.startAt === null) {
      const why = neverOpen(spec);
      this.d.log.error('schedule fired, but its backup windows never open; the run is reported failed', { schedule_id: spec.id, job_id: job.jobId });
      const ev = this.events(job);
      ev?.queued('waiting for its backup window');
      ev?.finished({ status: 'failed', exitCode: null, stats: null, error: why, errorKind: 'failed' });
      return;
    }
    if (g.startAt <= now) {
      this.d.submit(withStop(job, g.stopAt));
      return;
    }
    const when = new Date(g.startAt).toISOString();
    this.d.log.info('schedule fired outside its backup window; the run waits for it to open', { schedule_id: spec.id, job_id: job.jobId, starts_at: when });
    const ev = this.events(job);
    ev?.queued(`waiting for its backup window; starts at ${when}`);
    ev?.line('event', `outside its backup window: the run waits and starts at ${when}${spec.time_zone ? ` (windows in ${spec.time_zone})` : ''}`);
    this.held.set(spec.id, { spec, job, startAt: g.startAt });
    this.d.changed();
    this.arm();
  }

  /** Holds again, after a restart, a run that was waiting (its job.queued was sent before). */
  restore(spec: ScheduleSpec, job: JobRequest): void {
    const g = gate(spec, this.d.now());
    this.held.set(spec.id, { spec, job, startAt: g.startAt ?? this.d.now() });
    this.release();
  }

  /**
   * Follows a new schedule set: a waiting run whose schedule is gone or no longer fires here is
   * cancelled; the others take the new spec (their windows may have changed). Then releases.
   */
  resync(specs: readonly ScheduleSpec[], fires: (s: ScheduleSpec) => boolean): void {
    for (const [id, h] of this.held) {
      const spec = specs.find((s) => s.id === id);
      if (!spec || !fires(spec)) {
        this.held.delete(id);
        this.events(h.job, FIRST_RUNNER_SEQ)?.finished({ status: 'cancelled', exitCode: null, stats: null, error: 'its schedule was removed or disabled while it waited for its backup window', errorKind: 'cancelled' });
      } else {
        h.spec = spec;
      }
    }
    this.d.changed();
    this.release();
  }

  /** Hands the runs whose windows are open to the runner; recomputes the others. Called by the timer; tests call it after moving the clock. */
  release(): string[] {
    const now = this.d.now();
    const started: string[] = [];
    for (const [id, h] of this.held) {
      const g = gate(h.spec, now);
      if (g.startAt !== null && g.startAt <= now) {
        this.held.delete(id);
        this.d.log.info('backup window open; starting the waiting run', { schedule_id: id, job_id: h.job.jobId });
        this.d.submit({ ...withStop(h.job, g.stopAt), firstSeq: FIRST_RUNNER_SEQ });
        started.push(h.job.jobId);
      } else if (g.startAt !== null) {
        h.startAt = g.startAt;
      } else {
        // The windows changed (a new schedule set) and no longer open together: report it, do not hold it forever.
        this.held.delete(id);
        this.events(h.job, FIRST_RUNNER_SEQ)?.finished({ status: 'failed', exitCode: null, stats: null, error: neverOpen(h.spec), errorKind: 'failed' });
        this.d.changed();
      }
    }
    if (started.length) this.d.changed();
    this.arm();
    return started;
  }

  /** Cancels a waiting run (command.cancel). False when no run with this job id waits. */
  cancel(jobId: string): boolean {
    for (const [id, h] of this.held) {
      if (h.job.jobId !== jobId) continue;
      this.held.delete(id);
      this.events(h.job, FIRST_RUNNER_SEQ)?.finished({ status: 'cancelled', exitCode: null, stats: null, error: 'cancelled while it waited for its backup window', errorKind: 'cancelled' });
      this.d.changed();
      this.arm();
      return true;
    }
    return false;
  }

  /** The waiting runs by schedule id, for the runs file. */
  records(): Record<string, WaitingRecord> {
    const out: Record<string, WaitingRecord> = {};
    for (const [id, h] of this.held) out[id] = { job_id: h.job.jobId, start_at: new Date(h.startAt).toISOString() };
    return out;
  }

  /** Waiting job ids (they count as the agent's active jobs). */
  jobIds(): string[] {
    return [...this.held.values()].map((h) => h.job.jobId);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    this.stop();
    let first = Infinity;
    for (const h of this.held.values()) first = Math.min(first, h.startAt);
    if (first === Infinity) return;
    this.timer = setTimeout(() => this.release(), Math.min(Math.max(first - this.d.now(), 0), MAX_TIMER_MS));
    this.timer.unref();
  }

  private events(job: JobRequest, seq = 0): JobEvents | null {
    return this.d.emit ? new JobEvents(job.jobId, job.kind, job.scheduleId, this.d.emit, 500, seq) : null;
  }
}

/** When the schedule's windows let a run start at or after `now`, and when a `stop` window ends it. */
function gate(spec: ScheduleSpec, now: number): { startAt: number | null; stopAt: number | null } {
  const sets = spec.windows ?? [];
  if (sets.length === 0) return { startAt: now, stopAt: null };
  const clock = wallClock(cronZone(spec.time_zone));
  const startAt = nextAllowedStart(sets, clock, now);
  return { startAt, stopAt: startAt === null ? null : stopDeadline(sets, clock, startAt) };
}

const neverOpen = (spec: ScheduleSpec): string => `its backup windows never open together (${(spec.windows ?? []).map((w) => w.source ?? 'schedule').join(', ')}); nothing was run`;

const withStop = (job: JobRequest, stopAt: number | null): JobRequest => (stopAt === null ? job : { ...job, stopAt });
