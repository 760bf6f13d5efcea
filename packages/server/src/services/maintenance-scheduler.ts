import { randomUUID } from 'node:crypto';
import type { JobRow } from '../repositories/job.repository.js';
import { MaintenanceRepository } from '../repositories/maintenance.repository.js';
import type { ScheduleRow } from '../repositories/schedule.repository.js';
import type { AuditService } from './audit.service.js';
import type { ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError } from './errors.js';
import type { JobService } from './job.service.js';
import { frozenError, localFailureKind } from './job.service.js';
import type { MaintenanceService } from './maintenance.service.js';
import { MAINTENANCE_KINDS } from './maintenance.service.js';
import { nextFireAfter } from './overdue.js';
import { ALWAYS_HELD, LEASE_TTL_MS } from './leases.js';
import type { LeaseHolder } from './leases.js';
import { OneAtATime, Ticker } from './ticker.js';
import { gateForSchedule, neverOpens } from './backup-windows.js';

/** Vault schedules are fired by the server too: the target (S3 keys) travels only inside command.run. */
export const SERVER_FIRED_VAULT_KINDS: readonly string[] = ['vault_backup', 'vault_prune'];

/** Arguments of the job a server-fired schedule creates (same shapes as command.run). */
function argsFor(s: ScheduleRow): Record<string, unknown> {
  const options = JSON.parse(s.options) as Record<string, unknown>;
  if (s.kind === 'forget') return { policy: s.retention_policy ? (JSON.parse(s.retention_policy) as unknown) : {}, prune: false, ...options };
  if (s.kind === 'vault_backup') return { paths: JSON.parse(s.paths) as string[], excludes: JSON.parse(s.excludes) as string[] };
  if (s.kind === 'vault_prune') return s.retention_policy ? { policy: JSON.parse(s.retention_policy) as unknown } : {};
  return options;
}

/**
 * The server's clock for forget, prune and vault schedules (spec §7.4): those need the maintenance
 * credential, which only exists on the server and travels inside one `command.run`, so the server
 * fires them instead of the agent's local cron. A fire creates a queued job (actor: the
 * schedule). When the host is offline the job waits and is dispatched once on its next hello —
 * a missed run runs once, never as a burst, because a schedule never has two queued jobs.
 */
export class MaintenanceScheduler {
  private readonly ticker: Ticker;
  private last: number;
  private readonly serial = new OneAtATime();
  /** Whether this process held the lease at its last tick (null: no tick yet). */
  private holder: boolean | null = null;
  private readonly q: MaintenanceRepository;
  /** restore_drill fires postponed to their backup window's opening (schedule id -> start time; in memory). */
  private readonly drillWaits = new Map<string, number>();

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly jobs: JobService,
    private readonly maintenance: MaintenanceService,
    /** Refuses a vault fire without a target or a capable agent. */
    private readonly vaults: { precheck(hostId: string): Promise<void> },
    /** Refuses forget/prune on a frozen repository (snapshot ledger, issue 16). */
    private readonly ledger: { refusal(hostId: string, kind: string, repositoryId: string | null): Promise<string | null> },
    /** Fires a restore_drill schedule (RestoreDrillService; issue 16); throws DomainError when it cannot run. */
    private readonly drills: { fire(s: ScheduleRow): Promise<string[]> },
    /** The `maintenance-scheduler` lease: only its holder fires (several server processes, issue 17). */
    private readonly leases: LeaseHolder = ALWAYS_HELD,
    private readonly tickMs = 1000,
  ) {
    this.ticker = new Ticker(() => this.tick(), this.tickMs, () => (this.last = this.d.now()));
    this.q = new MaintenanceRepository(d.db);
    this.last = d.now();
  }

  start(): void {
    this.ticker.start();
  }

  stop(): void {
    this.ticker.stop();
  }

  /** Fires every schedule with a fire time in (last tick, now]. Returns the job ids created. */
  tick(): Promise<string[]> {
    return this.serial.run(() => this.tickOnce());
  }

  private async tickOnce(): Promise<string[]> {
    const now = this.d.now();
    const since = this.last;
    const created: string[] = [];
    try {
      if (!(await this.leases.held('maintenance-scheduler'))) {
        this.holder = false;
        return created;
      }
      // Taking over from a process that stopped: look back over the time its lease took to expire.
      const from = this.holder === false ? Math.min(since, now - LEASE_TTL_MS - this.tickMs) : since;
      this.holder = true;
      const fires = new Map<string, number>();
      const due = (await this.q.enabledSchedules([...MAINTENANCE_KINDS, ...SERVER_FIRED_VAULT_KINDS, 'restore_drill'])).filter((s) => {
        const next = nextFireAfter(s.cron_expr, s.time_zone, new Date(from));
        if (next !== null) fires.set(s.id, next.getTime());
        return next !== null && next.getTime() <= now;
      });
      created.push(...(await this.releaseWaiting(now)));
      const busy = await this.q.busySchedules(due.map((s) => s.id));
      // A fire time some process already fired (a job of the schedule created at or after it) is not fired again.
      const lastJob = await this.q.lastJobAt(due.map((s) => s.id));
      for (const s of due) {
        const last = lastJob.get(s.id);
        if (last && Date.parse(last) >= fires.get(s.id)!) continue;
        if (busy.has(s.id)) {
          this.d.log.info({ schedule_id: s.id }, 'maintenance schedule fired while its previous job is still queued or running; skipped');
          continue;
        }
        if (s.kind === 'restore_drill') created.push(...(await this.fireDrillInWindow(s, now)));
        else created.push(await this.fire(s, now));
      }
    } catch (err) {
      this.d.log.error({ err: (err as Error).message }, 'maintenance schedule tick failed');
    } finally {
      this.last = now;
    }
    return created;
  }

  /**
   * Backup windows (issue 21): jobs held for their window are sent once it opens (with a `stop`
   * window's end), and postponed restore drills fire.
   */
  private async releaseWaiting(now: number): Promise<string[]> {
    const out: string[] = [];
    for (const w of await this.d.repos.windowWaits.due(iso(now))) {
      const job = await this.d.repos.jobs.findById(w.job_id);
      if (!job || !this.d.agents.isConnected(job.host_id)) continue; // offline: sent on its next hello
      // The windows may have changed since the fire: follow the schedule's current ones.
      const sched = job.schedule_id ? await this.d.repos.schedules.findById(job.schedule_id) : undefined;
      if (sched) {
        const g = await gateForSchedule(this.d.repos, sched, now);
        if (g.startAt === null) {
          await this.jobs.finishLocally(job, 'failed', neverOpens(g.sets), 'failed');
          continue;
        }
        await this.d.repos.windowWaits.update(job.id, iso(g.startAt), g.stopAt === null ? null : iso(g.stopAt));
        if (g.startAt > now) {
          await this.d.repos.jobs.update(job.id, { progress: JSON.stringify({ waiting_for_window: true, starts_at: iso(g.startAt) }) });
          continue;
        }
      }
      await this.d.repos.jobs.update(job.id, { progress: null });
      try {
        const sent = await this.jobs.dispatch(job);
        this.d.log.info({ job_id: job.id, dispatched: sent }, sent ? 'backup window open: the waiting job was sent' : 'backup window open; the host is offline, the job waits for its next hello');
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        await this.jobs.finishLocally(job, 'failed', err.message, localFailureKind(err));
      }
    }
    for (const [id, at] of this.drillWaits) {
      if (at > now) continue;
      this.drillWaits.delete(id);
      const s = (await this.q.enabledSchedules(['restore_drill'])).find((x) => x.id === id);
      if (s) out.push(...(await this.fireDrillInWindow(s, now)));
    }
    return out;
  }

  /** A restore drill fired outside its windows waits for them (in memory; the next fire retries after a restart). */
  private async fireDrillInWindow(s: ScheduleRow, now: number): Promise<string[]> {
    const g = await gateForSchedule(this.d.repos, s, now);
    if (g.startAt === null) {
      this.d.log.warn({ schedule_id: s.id }, 'restore drill schedule fired, but its backup windows never open');
      await this.audit.record({ kind: 'system' }, 'job.schedule_failed', { kind: 'schedule', id: s.id }, { host_id: s.host_id, kind: s.kind, error: neverOpens(g.sets) });
      return [];
    }
    if (g.startAt > now) {
      this.drillWaits.set(s.id, g.startAt);
      this.d.log.info({ schedule_id: s.id, starts_at: iso(g.startAt) }, 'restore drill fired outside its backup window; it waits for the window');
      return [];
    }
    return this.fireDrill(s);
  }

  /** A restore drill: its jobs are made by the drill service (cross-host credentials, one per repository). */
  private async fireDrill(s: ScheduleRow): Promise<string[]> {
    try {
      const ids = await this.drills.fire(s);
      this.d.log.info({ schedule_id: s.id, jobs: ids }, 'restore drill schedule fired');
      return ids;
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      this.d.log.warn({ schedule_id: s.id, host_id: s.host_id, err: err.message }, 'restore drill schedule could not start');
      await this.audit.record({ kind: 'system' }, 'job.schedule_failed', { kind: 'schedule', id: s.id }, { host_id: s.host_id, kind: s.kind, error: err.message });
      return [];
    }
  }

  private async fire(s: ScheduleRow, now: number): Promise<string> {
    const args = argsFor(s);
    const job: JobRow = {
      id: randomUUID(), host_id: s.host_id, kind: s.kind, status: 'queued', schedule_id: s.id, actor_kind: 'schedule', actor_id: s.id,
      args_enc: null, created_at: iso(now), started_at: null, finished_at: null, exit_code: null, stats: null, error: null,
      error_kind: null, progress: null, progress_seq: null, dispatched_at: null, repository_id: s.repository_id,
    };
    job.args_enc = this.d.box.sealJson(args, `job:${job.id}`);
    await this.d.repos.jobs.insert(job);
    await this.audit.record({ kind: 'system' }, 'job.scheduled', { kind: 'job', id: job.id }, { schedule_id: s.id, kind: s.kind, host_id: s.host_id, fired_by: 'server' });
    try {
      if (SERVER_FIRED_VAULT_KINDS.includes(s.kind)) await this.vaults.precheck(s.host_id);
      else {
        const frozen = await this.ledger.refusal(s.host_id, s.kind, s.repository_id);
        if (frozen) throw frozenError(frozen);
        const note = await this.maintenance.precheck(s.host_id, s.kind);
        if (note) {
          this.d.log.warn({ schedule_id: s.id, job_id: job.id, host_id: s.host_id }, note);
          await this.audit.record({ kind: 'system' }, 'job.note', { kind: 'job', id: job.id }, { host_id: s.host_id, note });
        }
      }
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      await this.jobs.finishLocally(job, 'failed', err.message, localFailureKind(err));
      return job.id;
    }
    // Backup windows (issue 21): outside them the job stays queued (its progress says until when) and is sent when they open.
    const g = await gateForSchedule(this.d.repos, s, now);
    if (g.startAt === null) {
      await this.jobs.finishLocally(job, 'failed', neverOpens(g.sets), 'failed');
      return job.id;
    }
    if (g.startAt > now || g.stopAt !== null) await this.d.repos.windowWaits.insert({ job_id: job.id, start_at: iso(g.startAt), stop_at: g.stopAt === null ? null : iso(g.stopAt) });
    if (g.startAt > now) {
      await this.d.repos.jobs.update(job.id, { progress: JSON.stringify({ waiting_for_window: true, starts_at: iso(g.startAt) }) });
      this.d.log.info({ schedule_id: s.id, job_id: job.id, starts_at: iso(g.startAt) }, 'maintenance schedule fired outside its backup window; the job waits for it');
      return job.id;
    }
    const sent = await this.jobs.dispatch(job, args);
    this.d.log.info({ schedule_id: s.id, job_id: job.id, dispatched: sent }, sent ? 'maintenance schedule fired' : 'maintenance schedule fired; the host is offline, the job waits for its next hello');
    return job.id;
  }
}
