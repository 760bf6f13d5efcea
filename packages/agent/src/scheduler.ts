import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { parseScheduleSet } from './wire.js';
import type { ScheduleSetFrame, ScheduleSpec } from './wire.js';
import type { Logger } from './log.js';
import { readIfExists, writeFileAtomic } from './state/atomic.js';
import type { ScheduleStore } from './state/schedule-store.js';
import { cronZone } from './timezone.js';
import type { JobRequest } from './jobs/runner.js';
import type { Emit } from './jobs/job-events.js';
import { WindowWaits } from './window-wait.js';
import type { WaitingRecord } from './window-wait.js';

/**
 * Kinds the server fires itself (they need the maintenance credential, spec §7.4, which only
 * travels inside one command.run). The agent keeps them in its set but never fires them locally.
 */
export const SERVER_FIRED_KINDS: ReadonlySet<string> = new Set(['forget', 'prune']);

export interface SchedulerDeps {
  /** Where the last-known-good schedule set is persisted (sealed: it holds hooks and database passwords). */
  store: ScheduleStore;
  /** Where the per-schedule last-fire times are persisted (missed-run catch-up). */
  runsFile?: string;
  submit: (req: JobRequest) => void;
  /** True while a job of this schedule is queued or running: the fire is skipped. */
  busy: (scheduleId: string) => boolean;
  log: Logger;
  /** Clock (ms); injectable for tests. */
  now?: () => number;
  /** How often to look for a wall-clock jump (suspend/resume); default 30 s, 0 = never. */
  wakeCheckMs?: number;
  /** Frames of runs waiting for their backup window (job.queued with the start time); absent = log only. */
  emit?: Emit;
}

/** Builds the job a schedule fires (its arguments follow the command.run schemas). */
export function jobForSchedule(s: ScheduleSpec): JobRequest {
  const bw = { ...(s.options.limit_upload_kbps ? { limit_upload_kbps: s.options.limit_upload_kbps } : {}), ...(s.options.limit_download_kbps ? { limit_download_kbps: s.options.limit_download_kbps } : {}) };
  let args: Record<string, unknown> = {};
  if (s.kind === 'backup') {
    args = {
      paths: s.paths, excludes: s.excludes, tags: s.tags, ...bw,
      ...(s.pre_hook ? { pre_hook: s.pre_hook } : {}), ...(s.post_hook ? { post_hook: s.post_hook } : {}), ...(s.run_as ? { run_as: s.run_as } : {}),
      ...(s.databases?.length ? { databases: s.databases } : {}),
      ...(s.stop_containers?.length ? { stop_containers: s.stop_containers } : {}),
    };
  } else if (s.kind === 'forget') {
    args = { policy: s.retention_policy ?? {}, prune: false, ...bw };
  } else if (s.kind === 'prune') {
    args = bw;
  } else if (s.kind === 'check') {
    args = { ...(s.read_data_subset ? { read_data_subset: s.read_data_subset } : {}), ...(s.read_data_rotation !== undefined ? { read_data_rotation: s.read_data_rotation } : {}) };
  }
  return { jobId: randomUUID(), kind: s.kind, args, scheduleId: s.id, ...(s.repository_id ? { repositoryId: s.repository_id } : {}), ...(s.capped ? { awaitSlot: true } : {}) };
}

/** Per schedule: the cron it had and the time it last fired (or was first applied). */
type Runs = Record<string, { cron: string; ref: string; waiting?: WaitingRecord }>;

/**
 * The local cron (spec §6.2 "Schedule reconciliation"): applies `schedule.set`, persists it as
 * last-known-good, and keeps firing it whether or not the server is reachable. Jobs it creates
 * carry an agent-generated UUID and the schedule id.
 *
 * Missed runs: the time of each schedule's last fire is persisted. When the agent starts, when
 * a set is applied, and when the wall clock jumps (the machine slept), a schedule whose next
 * fire time after its last fire has already passed is fired ONCE (however many times were
 * missed) and its cron restarts from now. A changed cron expression restarts the count.
 */
export class LocalScheduler {
  private crons: { id: string; cron: Cron }[] = [];
  private version: number | null = null;
  private specs: ScheduleSpec[] = [];
  private runs: Runs = {};
  private wakeTimer: NodeJS.Timeout | null = null;
  private lastWake = 0;
  /** Runs fired outside their backup windows, waiting for them to open (issue 21). */
  readonly waits: WindowWaits;

  constructor(private readonly deps: SchedulerDeps) {
    this.waits = new WindowWaits({
      submit: (j) => deps.submit(j), log: deps.log, now: () => this.now(), changed: () => this.saveRuns(),
      ...(deps.emit ? { emit: deps.emit } : {}),
    });
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Loads and starts the last-known-good schedule set, if any, then catches up. Returns its version. */
  loadPersisted(): number | null {
    this.loadRuns();
    let parsed;
    try {
      const raw = this.deps.store.load();
      if (raw === null) return null;
      parsed = parseScheduleSet(raw);
    } catch (err) {
      this.deps.log.error(`the stored schedule set cannot be used (${(err as Error).message}); no local schedule until the server sends one`);
      return null;
    }
    if (!parsed.ok) {
      this.deps.log.error(`the stored schedule set is invalid (${parsed.message}); no local schedule until the server sends one`);
      return null;
    }
    const waiting = Object.entries(this.runs).flatMap(([id, r]) => (r.waiting ? [[id, r.waiting] as const] : []));
    this.install(parsed.value);
    for (const [id, w] of waiting) {
      const s = this.specs.find((x) => x.id === id);
      if (s && this.local(s)) this.waits.restore(s, { ...jobForSchedule(s), jobId: w.job_id });
    }
    this.catchUp();
    this.watchWake();
    return this.version;
  }

  /** Applies a schedule.set: replaces every cron, persists the set. Returns the version to ack. */
  apply(set: ScheduleSetFrame): number {
    this.deps.store.save(set);
    this.install(set);
    this.catchUp();
    this.watchWake();
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
    this.waits.stop();
    this.stopCrons();
    if (this.wakeTimer) clearInterval(this.wakeTimer);
    this.wakeTimer = null;
  }

  /**
   * Fires, once each, the schedules whose next fire time after their last fire has passed.
   * Returns the ids fired. Called on start, on apply and after a wall-clock jump.
   */
  catchUp(): string[] {
    const now = this.now();
    const fired: string[] = [];
    for (const s of this.specs) {
      if (!this.local(s)) continue;
      const r = this.runs[s.id];
      if (!r) continue;
      let next: Date | null;
      try {
        next = new Cron(s.cron_expr, { paused: true, ...cronZone(s.time_zone) }).nextRun(new Date(r.ref));
      } catch {
        continue;
      }
      // A fire due this very second belongs to the running cron, not to catch-up.
      if (!next || next.getTime() > now - 1000) continue;
      this.deps.log.info('schedule missed a run while the agent was stopped or asleep; running it once now', { schedule_id: s.id, missed_at: next.toISOString() });
      if (this.fire(s, true)) fired.push(s.id);
    }
    if (fired.length) this.restartCrons();
    return fired;
  }

  private local(s: ScheduleSpec): boolean {
    return s.enabled && !SERVER_FIRED_KINDS.has(s.kind);
  }

  private install(set: ScheduleSetFrame): void {
    this.version = set.schedule_version;
    this.specs = set.schedules;
    const nowIso = new Date(this.now()).toISOString();
    const runs: Runs = {};
    for (const s of set.schedules) {
      const old = this.runs[s.id];
      runs[s.id] = old && old.cron === s.cron_expr ? old : { cron: s.cron_expr, ref: nowIso };
    }
    this.runs = runs;
    this.saveRuns();
    this.restartCrons();
    this.waits.resync(set.schedules, (s) => this.local(s));
    this.deps.log.info('schedule applied', { schedule_version: set.schedule_version, active: this.crons.length });
  }

  private stopCrons(): void {
    for (const c of this.crons) c.cron.stop();
    this.crons = [];
  }

  private restartCrons(): void {
    this.stopCrons();
    for (const s of this.specs) {
      if (!this.local(s)) continue;
      try {
        const cron = new Cron(s.cron_expr, { ...cronZone(s.time_zone), protect: true }, () => void this.fire(s, false));
        this.crons.push({ id: s.id, cron });
      } catch (err) {
        this.deps.log.error('invalid cron expression in schedule; it will not fire', { schedule_id: s.id, cron: s.cron_expr, error: (err as Error).message });
      }
    }
  }

  /** A timer that notices the wall clock leaping ahead (suspend/resume) and catches up. */
  private watchWake(): void {
    const every = this.deps.wakeCheckMs ?? 30_000;
    if (this.wakeTimer || every <= 0) return;
    this.lastWake = Date.now();
    this.wakeTimer = setInterval(() => {
      const t = Date.now();
      const slept = t - this.lastWake > every * 3;
      this.lastWake = t;
      if (slept) {
        this.deps.log.info('the clock jumped (the machine slept); checking for missed schedule runs');
        this.waits.release();
        this.catchUp();
      }
    }, every);
    this.wakeTimer.unref();
  }

  private fire(s: ScheduleSpec, catchUp: boolean): boolean {
    this.runs[s.id] = { cron: s.cron_expr, ref: new Date(this.now()).toISOString() };
    this.saveRuns();
    if (this.deps.busy(s.id) || this.waits.has(s.id)) {
      this.deps.log.warn('schedule fired while its previous job is still queued, waiting for its window or running; skipping this run', { schedule_id: s.id });
      return false;
    }
    const job = jobForSchedule(s);
    this.deps.log.info(catchUp ? 'schedule fired (catch-up of a missed run)' : 'schedule fired', { schedule_id: s.id, job_id: job.jobId, kind: s.kind });
    // Backup windows (issue 21): submitted now, or held until they open.
    this.waits.offer(s, job);
    return true;
  }

  private loadRuns(): void {
    if (!this.deps.runsFile) return;
    try {
      const raw = readIfExists(this.deps.runsFile);
      this.runs = raw ? (JSON.parse(raw.toString('utf8')) as Runs) : {};
    } catch {
      this.deps.log.warn('schedule-runs file is corrupt; missed runs are counted from now');
      this.runs = {};
    }
  }

  private saveRuns(): void {
    if (!this.deps.runsFile) return;
    const waiting = this.waits.records();
    for (const [id, r] of Object.entries(this.runs)) {
      if (waiting[id]) r.waiting = waiting[id];
      else delete r.waiting;
    }
    try {
      writeFileAtomic(this.deps.runsFile, JSON.stringify(this.runs));
    } catch (err) {
      this.deps.log.warn('cannot write the schedule-runs file', { error: (err as Error).message });
    }
  }
}
