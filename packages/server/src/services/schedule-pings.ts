import type { JobRow } from '../repositories/job.repository.js';
import { NotificationOutboxRepository } from '../repositories/notification-outbox.repository.js';
import type { OutboxRow } from '../repositories/notification-outbox.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { DomainError, notFound } from './errors.js';
import { sendHttp } from './notify/http-send.js';
import type { TargetGuard } from './notify/target-guard.js';
import { TargetRefused, TargetUnresolved } from './notify/target-guard.js';
import type { SendOptions } from './notify/types.js';
import { DeliveryError } from './notify/types.js';

type Signal = 'start' | 'success' | 'fail' | 'log';

/** What the outbox holds for one ping (never the URL: it is read, sealed, from the schedule when sent). */
export interface PingEvent {
  ping: 'start' | 'success' | 'fail';
  schedule_id: string;
  job_id: string;
  job_kind: string;
  host_name: string | null;
  /** The job's final status and error kind (fail pings). */
  status: string;
  error_kind: string | null;
}
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
 * logged or audited. Pings go through the durable notification outbox (one lane per schedule:
 * in order, retried with backoff, dead letters in Settings); `deliver` sends one, after the SSRF guard.
 */
export class SchedulePings {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly outbox: NotificationOutboxRepository;

  constructor(
    private readonly d: ServiceDeps,
    private readonly guard: TargetGuard,
    private readonly audit: AuditService,
    /** Tells the notifier that the outbox has a new row (it also polls). */
    private readonly queued: () => void = () => undefined,
    private readonly timeoutMs = 10_000,
  ) {
    this.outbox = new NotificationOutboxRepository(d.db);
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

  /** A job started (agent report): queues `<url>/start` when its schedule has a ping URL. Never throws. */
  jobStarted(jobId: string): void {
    this.track(async () => {
      const job = await this.d.repos.jobs.findById(jobId);
      if (job) await this.enqueue(job, 'start');
    });
  }

  /** A job ended: queues `<url>` on success, `<url>/fail` otherwise. Never throws. */
  jobEnded(ended: JobRow): Promise<void> {
    this.track(async () => {
      const job = (await this.d.repos.jobs.findById(ended.id)) ?? ended;
      if (job.status === 'queued' || job.status === 'running') return;
      await this.enqueue(job, job.status === 'succeeded' ? 'success' : 'fail');
    });
    return Promise.resolve();
  }

  /** The notifier's PingSender: one attempt of an outbox row (its retries are the notifier's). */
  async deliver(row: OutboxRow, o: SendOptions): Promise<string> {
    const p = JSON.parse(row.event) as PingEvent;
    const sched = await this.d.repos.schedules.findById(p.schedule_id);
    if (!sched?.healthcheck_url_enc) return 'the schedule has no ping URL any more: nothing sent';
    const base = this.d.box.open(sched.healthcheck_url_enc, `schedule-ping:${sched.id}`);
    const what = `${p.job_kind} on ${p.host_name ?? 'an unknown host'}`;
    const body = p.ping === 'start' ? `restic-manager: ${what} started (job ${p.job_id})` : p.ping === 'success' ? `restic-manager: ${what} succeeded (job ${p.job_id})` : `restic-manager: ${what} ${p.status}${p.error_kind ? ` (${p.error_kind})` : ''} (job ${p.job_id})`;
    const status = await sendHttp(o, { webhook_url: base }, {
      service: 'the ping URL', url: pingUrl(base, p.ping, p.job_id), field: 'healthcheck_url', headers: { 'content-type': 'text/plain; charset=utf-8' }, body,
    });
    return `the ping URL answered HTTP ${status}`;
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
      const status = await sendHttp({ timeoutMs: this.timeoutMs, signal: this.abort.signal, guard: this.guard }, { webhook_url: base }, {
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

  /** Resolves once no ping is being queued (tests; then the notifier's idle() for the sending). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** Aborts a Send test in flight (server shutdown). */
  close(): void {
    this.abort.abort();
  }

  private track(fn: () => Promise<void>): void {
    const p: Promise<void> = fn()
      .catch((e: unknown) => this.d.log.error({ err: (e as Error).message }, 'queueing a schedule ping failed'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async enqueue(job: JobRow, ping: PingEvent['ping']): Promise<void> {
    if (!job.schedule_id) return;
    const sched = await this.d.repos.schedules.findById(job.schedule_id);
    if (!sched?.healthcheck_url_enc) return;
    const host = await this.d.repos.hosts.findById(job.host_id);
    const event: PingEvent = { ping, schedule_id: sched.id, job_id: job.id, job_kind: job.kind, host_name: host?.name ?? null, status: job.status, error_kind: job.error_kind ?? null };
    const now = new Date().toISOString();
    await this.outbox.addPing(sched.id, JSON.stringify(event), now, now);
    this.queued();
  }
}
