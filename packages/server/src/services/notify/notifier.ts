import type { ChannelType } from '@restic-manager/protocol';
import { NotificationRepository } from '../../repositories/notification.repository.js';
import type { ChannelRow } from '../../repositories/notification.repository.js';
import type { ServiceDeps } from '../context.js';
import { iso } from '../context.js';
import type { AlertChange } from '../fleet.service.js';
import { emailTransport } from './email.js';
import { ntfyTransport } from './ntfy.js';
import type { TargetGuard } from './target-guard.js';
import type { AlertEvent, ChannelSecrets, Transport } from './types.js';
import { DeliveryError } from './types.js';
import { webhookTransport } from './webhook.js';

export interface NotifierOptions {
  /** Attempts per delivery before the channel is marked failed (default 5). */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt (default 2 s). */
  baseDelayMs?: number;
  /** Cap of one retry delay (default 5 min). */
  maxDelayMs?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  /** Queued deliveries per channel; beyond it the oldest is dropped (default 100). */
  maxQueue?: number;
  /** Transports by channel type (tests may wrap them). */
  transports?: Partial<Record<ChannelType, Transport>>;
}

const RANK = { info: 1, warning: 2, critical: 3 } as const;
const TRANSPORTS: Record<ChannelType, Transport> = { webhook: webhookTransport, ntfy: ntfyTransport, email: emailTransport };

interface Lane {
  queue: AlertEvent[];
  running: boolean;
  timer: NodeJS.Timeout | null;
}

/**
 * Delivers alert changes to the matching enabled channels, asynchronously: `alertChanged`
 * returns at once, each channel has its own FIFO lane (a raise goes out before its resolve),
 * a failed attempt is retried after 2 s, 4 s, 8 s … (capped) up to `maxAttempts`, then dropped
 * with the channel marked failed. The last status / error / attempt count of each channel is
 * stored on its row. A dead or slow channel delays only its own lane; nothing here throws into
 * the caller. Queued deliveries live in memory (a restart drops them).
 */
export class Notifier {
  private readonly repo: NotificationRepository;
  private readonly lanes = new Map<string, Lane>();
  private readonly abort = new AbortController();
  private readonly o: Required<Omit<NotifierOptions, 'transports'>> & { transports: Record<ChannelType, Transport> };
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly d: ServiceDeps,
    /** The SSRF guard webhook and ntfy deliveries pass (RM_NOTIFY_ALLOW_PRIVATE). */
    private readonly guard: TargetGuard,
    o: NotifierOptions = {},
  ) {
    this.repo = new NotificationRepository(d.db);
    this.o = {
      maxAttempts: o.maxAttempts ?? 5, baseDelayMs: o.baseDelayMs ?? 2000, maxDelayMs: o.maxDelayMs ?? 300_000,
      timeoutMs: o.timeoutMs ?? 10_000, maxQueue: o.maxQueue ?? 100, transports: { ...TRANSPORTS, ...o.transports },
    };
  }

  /** FleetService.onAlertChange: builds the event and queues it on every matching channel. Never throws. */
  alertChanged(c: AlertChange): void {
    if (this.closed) return;
    this.inFlight++;
    void this.fanOut(c)
      .catch((e: unknown) => this.d.log.error({ err: (e as Error).message }, 'notification fan-out failed'))
      .finally(() => {
        this.inFlight--;
        this.settle();
      });
  }

  /** Sends `event` to one channel now (Send test): resolves with the transport's detail or throws DeliveryError. Records the status. */
  async deliverNow(row: ChannelRow, event: AlertEvent): Promise<string> {
    try {
      const detail = await this.send(row, event);
      await this.record(row.id, 'ok', null, 1);
      return detail;
    } catch (e) {
      const msg = e instanceof DeliveryError ? e.message : 'internal error while sending';
      await this.record(row.id, 'failed', msg, 1);
      throw new DeliveryError(msg);
    }
  }

  /** Builds the event the channels receive (also used by Send test). */
  async eventFor(c: AlertChange | { change: 'test' }): Promise<AlertEvent> {
    const now = iso(this.d.now());
    if (c.change === 'test') {
      return {
        event: 'test', server_url: this.d.baseUrl(), sent_at: now,
        alert: { id: 'test', kind: 'test', severity: 'info', message: 'test notification from restic-manager', host_id: null, host_name: null, created_at: now, acknowledged_at: null, resolved_at: null },
      };
    }
    const a = c.alert;
    const host = a.host_id ? await this.d.repos.hosts.findById(a.host_id) : undefined;
    return { event: c.change === 'raised' ? 'alert.raised' : 'alert.resolved', server_url: this.d.baseUrl(), sent_at: now, alert: { ...a, host_name: host?.name ?? null } };
  }

  /** Resolves once nothing is queued, sending or waiting to retry (tests). */
  idle(): Promise<void> {
    if (this.busy() === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops retries and aborts requests in flight (server shutdown). */
  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const l of this.lanes.values()) if (l.timer) clearTimeout(l.timer);
    this.lanes.clear();
    this.settle();
  }

  private busy(): number {
    let n = this.inFlight;
    for (const l of this.lanes.values()) n += l.queue.length + (l.running ? 1 : 0);
    return n;
  }

  private settle(): void {
    if (this.closed || this.busy() === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async fanOut(c: AlertChange): Promise<void> {
    const event = await this.eventFor(c);
    for (const ch of await this.repo.enabled()) {
      const kinds = JSON.parse(ch.kinds) as string[];
      if (kinds.length > 0 && !kinds.includes(c.alert.kind)) continue;
      if (RANK[c.alert.severity] < RANK[ch.min_severity]) continue;
      this.enqueue(ch.id, event);
    }
  }

  private enqueue(channelId: string, event: AlertEvent): void {
    let lane = this.lanes.get(channelId);
    if (!lane) this.lanes.set(channelId, (lane = { queue: [], running: false, timer: null }));
    lane.queue.push(event);
    if (lane.queue.length > this.o.maxQueue) {
      lane.queue.splice(1, 1); // keep the head (it may be mid-retry); drop the oldest waiting one
      this.d.log.warn({ channel_id: channelId }, 'notification queue full; dropped the oldest waiting event');
    }
    if (!lane.running && !lane.timer) void this.drain(channelId, lane, 1);
  }

  /** Works through a lane: one attempt of the head; on failure retry later or drop it. */
  private async drain(channelId: string, lane: Lane, attempt: number): Promise<void> {
    lane.timer = null;
    const event = lane.queue[0];
    if (!event || this.closed) return this.settle();
    lane.running = true;
    let retryIn: number | null = null;
    try {
      const row = await this.repo.findById(channelId);
      if (!row || row.enabled !== 1) {
        lane.queue.length = 0; // deleted or disabled since: nothing left to send
      } else {
        try {
          await this.send(row, event);
          lane.queue.shift();
          await this.record(channelId, 'ok', null, attempt);
          attempt = 1;
        } catch (e) {
          const msg = e instanceof DeliveryError ? e.message : 'internal error while sending';
          if (attempt < this.o.maxAttempts && !this.closed) {
            retryIn = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
            await this.record(channelId, 'retrying', msg, attempt);
            this.d.log.warn({ channel_id: channelId, attempt, retry_in_ms: retryIn, err: msg }, 'notification delivery failed; will retry');
          } else {
            lane.queue.shift();
            await this.record(channelId, 'failed', msg, attempt);
            this.d.log.warn({ channel_id: channelId, attempt, err: msg }, 'notification delivery failed; giving up');
            attempt = 1;
          }
        }
      }
    } catch (e) {
      lane.queue.shift();
      this.d.log.error({ channel_id: channelId, err: (e as Error).message }, 'notification lane failed');
    } finally {
      lane.running = false;
    }
    if (this.closed) return this.settle();
    if (retryIn !== null) {
      const next = attempt + 1;
      lane.timer = setTimeout(() => void this.drain(channelId, lane, next), retryIn);
      lane.timer.unref();
    } else if (lane.queue.length > 0) {
      void this.drain(channelId, lane, 1);
    } else {
      this.lanes.delete(channelId);
      this.settle();
    }
  }

  private send(row: ChannelRow, event: AlertEvent): Promise<string> {
    const config = JSON.parse(row.config) as Record<string, unknown>;
    const secrets = row.secrets_enc ? this.d.box.openJson<ChannelSecrets>(row.secrets_enc, `channel:${row.id}`) : {};
    return this.o.transports[row.type].send(config, secrets, event, { timeoutMs: this.o.timeoutMs, signal: this.abort.signal, guard: this.guard });
  }

  private async record(id: string, status: 'ok' | 'retrying' | 'failed', error: string | null, attempts: number): Promise<void> {
    const at = iso(this.d.now());
    await this.repo.update(id, { last_status: status, last_error: error, last_attempt_at: at, last_attempts: attempts, ...(status === 'ok' ? { last_success_at: at } : {}) });
  }
}
