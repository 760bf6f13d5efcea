import type { JobRow } from '../repositories/job.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { DomainError, notFound } from './errors.js';
import { sendHttp } from './notify/http-send.js';
import type { TargetGuard } from './notify/target-guard.js';
import { TargetRefused, TargetUnresolved } from './notify/target-guard.js';
import { DeliveryError } from './notify/types.js';

export interface SchedulePingOptions {
  /** Attempts per ping (default 3), the first retry after `baseDelayMs` (default 1 s), doubling. */
  attempts?: number;
  baseDelayMs?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
}

type Signal = 'start' | 'success' | 'fail' | 'log';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `<url>/start`, `<url>`, `<url>/fail`, with the job id as Healthchecks' run id (`?rid=`) so overlapping runs pair up. */
export function pingUrl(base: string, signal: Signal, jobId: string): string {
  const u = new URL(base);
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = signal === 'success' ? path || '/' : `${path}/${signal}`;
  if (UUID.test(jobId)) u.searchParams.set('rid', jobId);
  return u.toString();
}

/**
 * Healthchecks-style pings per schedule (issue 21, docs/alerts.md "Dead-man's switch"): a job
 * fired by a schedule with a ping URL pings `<url>/start` when it starts, `<url>` when it
 * succeeds and `<url>/fail` when it fails or is cancelled, so a service outside the product
 * notices when backups stop — even when this server is down. The URL is a secret (its path
 * identifies the check): sealed under `schedule-ping:<id>`, set only by admins, never shown,
 * logged or audited. Every ping passes the SSRF guard and is tried up to `attempts` times in
 * memory; pings do not use the durable outbox on purpose: a ping is about *now*, and a lost
 * one makes the check late, which is what a dead-man's switch reports anyway.
 */
export class SchedulePings {
  private readonly o: Required<SchedulePingOptions>;
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly d: ServiceDeps,
    private readonly guard: TargetGuard,
    private readonly audit: AuditService,
    o: SchedulePingOptions = {},
  ) {
    this.o = { attempts: o.attempts ?? 3, baseDelayMs: o.baseDelayMs ?? 1000, timeoutMs: o.timeoutMs ?? 10_000 };
  }

  /** Before a schedule is saved: only admins may set or clear a ping URL; a refused address is a field error. */
  async check(admin: boolean, url: string | null | undefined): Promise<void> {
    if (url === undefined) return;
    if (!admin) throw new DomainError('forbidden', 'only admins may set or remove a schedule’s ping URL', { healthcheck_url: 'admins only' });
    if (!url) return;
    try {
      await this.guard.check(url, 'healthcheck_url');
    } catch (e) {
      if (e instanceof TargetRefused) throw new DomainError('validation_failed', e.message, { healthcheck_url: e.message.slice('healthcheck_url: '.length) });
      if (!(e instanceof TargetUnresolved)) throw e;
    }
  }

  /** After a schedule is saved: a string seals it, null or "" clears it, undefined keeps the stored one. */
  async store(scheduleId: string, url: string | null | undefined): Promise<void> {
    if (url === undefined) return;
    await this.d.repos.schedules.update(scheduleId, { healthcheck_url_enc: url ? this.d.box.seal(url, `schedule-ping:${scheduleId}`) : null });
  }

  /** A job started (agent report): `<url>/start` when its schedule has a ping URL. Never throws. */
  jobStarted(jobId: string): void {
    this.track(async () => {
      const job = await this.d.repos.jobs.findById(jobId);
      if (job) await this.ping(job, 'start');
    });
  }

  /** A job ended: `<url>` on success, `<url>/fail` otherwise. Never throws. */
  jobEnded(ended: JobRow): Promise<void> {
    this.track(async () => {
      const job = (await this.d.repos.jobs.findById(ended.id)) ?? ended;
      if (job.status === 'queued' || job.status === 'running') return;
      await this.ping(job, job.status === 'succeeded' ? 'success' : 'fail');
    });
    return Promise.resolve();
  }

  /**
   * Send test (admin): one `POST <url>/log`, which Healthchecks records as a log event without
   * changing the check's state (a success ping would restart its timer with no backup done).
   * No retries; a failure is `delivery_failed` with the reason (never the URL). Audited.
   */
  async test(actor: Actor, scheduleId: string): Promise<{ ok: true; schedule_id: string; detail: string }> {
    if (!(actor.kind === 'user' && actor.role === 'admin')) throw new DomainError('forbidden', 'only admins may test a schedule’s ping URL');
    const sched = await this.d.repos.schedules.findById(scheduleId);
    if (!sched) throw notFound('schedule', scheduleId);
    if (!sched.healthcheck_url_enc) throw new DomainError('validation_failed', 'healthcheck_url: this schedule has no ping URL', { healthcheck_url: 'not set' });
    const base = this.d.box.open(sched.healthcheck_url_enc, `schedule-ping:${sched.id}`);
    try {
      const status = await sendHttp({ timeoutMs: this.o.timeoutMs, signal: this.abort.signal, guard: this.guard }, { webhook_url: base }, {
        service: 'the ping URL', url: pingUrl(base, 'log', ''), field: 'healthcheck_url', headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'restic-manager: test ping (Send test); the check’s state is unchanged',
      });
      await this.audit.record(actor, 'schedule.ping_test', { kind: 'schedule', id: sched.id }, { ok: true });
      return { ok: true, schedule_id: sched.id, detail: `the ping URL answered HTTP ${status}` };
    } catch (e) {
      const msg = e instanceof DeliveryError ? e.message : 'internal error while pinging';
      await this.audit.record(actor, 'schedule.ping_test', { kind: 'schedule', id: sched.id }, { ok: false, error: msg });
      throw new DomainError('delivery_failed', `test ping failed: ${msg}`);
    }
  }

  /** Resolves once no ping is being sent (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** Stops retrying and aborts pings in flight (server shutdown). */
  close(): void {
    this.abort.abort();
  }

  private track(fn: () => Promise<void>): void {
    const p: Promise<void> = fn()
      .catch((e: unknown) => this.d.log.error({ err: (e as Error).message }, 'schedule ping failed'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async ping(job: JobRow, signal: Signal): Promise<void> {
    if (!job.schedule_id) return;
    const sched = await this.d.repos.schedules.findById(job.schedule_id);
    if (!sched?.healthcheck_url_enc) return;
    const base = this.d.box.open(sched.healthcheck_url_enc, `schedule-ping:${sched.id}`);
    const host = await this.d.repos.hosts.findById(job.host_id);
    const what = `${job.kind} on ${host?.name ?? job.host_id}`;
    const body = signal === 'start' ? `restic-manager: ${what} started (job ${job.id})` : signal === 'success' ? `restic-manager: ${what} succeeded (job ${job.id})` : `restic-manager: ${what} ${job.status}${job.error_kind ? ` (${job.error_kind})` : ''} (job ${job.id})`;
    const url = pingUrl(base, signal, job.id);
    const secrets = { webhook_url: base };
    for (let attempt = 1; ; attempt++) {
      try {
        await sendHttp({ timeoutMs: this.o.timeoutMs, signal: this.abort.signal, guard: this.guard }, secrets, {
          service: 'the ping URL', url, field: 'healthcheck_url', headers: { 'content-type': 'text/plain; charset=utf-8' }, body,
        });
        return;
      } catch (e) {
        const msg = e instanceof DeliveryError ? e.message : 'internal error while pinging';
        if (attempt >= this.o.attempts || this.abort.signal.aborted) {
          this.d.log.warn({ schedule_id: sched.id, job_id: job.id, signal, attempts: attempt, err: msg }, 'schedule ping failed; giving up');
          return;
        }
        await new Promise<void>((r) => {
          setTimeout(r, this.o.baseDelayMs * 2 ** (attempt - 1)).unref();
        });
      }
    }
  }
}
