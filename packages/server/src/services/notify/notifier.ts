import type { ChannelType } from '@restic-manager/protocol';
import { NotificationOutboxRepository } from '../../repositories/notification-outbox.repository.js';
import type { OutboxRow } from '../../repositories/notification-outbox.repository.js';
import { NotificationRepository } from '../../repositories/notification.repository.js';
import type { ChannelRow } from '../../repositories/notification.repository.js';
import type { ServiceDeps } from '../context.js';
import { iso } from '../context.js';
import type { AlertChange } from '../fleet.service.js';
import { emailTransport } from './email.js';
import { ntfyTransport } from './ntfy.js';
import type { TargetGuard } from './target-guard.js';
import type { AlertEvent, ChannelSecrets, SendOptions, Transport } from './types.js';
import { DeliveryError } from './types.js';
import { webhookTransport } from './webhook.js';
import { discordTransport } from './discord.js';
import { gotifyTransport } from './gotify.js';
import { matrixTransport } from './matrix.js';
import { pushoverTransport } from './pushover.js';
import { slackTransport } from './slack.js';
import { telegramTransport } from './telegram.js';

export interface NotifierOptions {
  /** Attempts per delivery before it becomes a dead letter and the channel is marked failed (default 5). */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt (default 2 s). */
  baseDelayMs?: number;
  /** Cap of one retry delay (default 5 min). */
  maxDelayMs?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  /** Deliveries waiting per channel; beyond it the oldest waiting one is dropped (default 100). */
  maxQueue?: number;
  /** How often the outbox is read for rows this process was not told about (another process's, or left by a restart; default 5 s). */
  pollMs?: number;
  /** Transports by channel type (tests may wrap them). */
  transports?: Partial<Record<ChannelType, Transport>>;
}

const RANK = { info: 1, warning: 2, critical: 3 } as const;
const TRANSPORTS: Record<ChannelType, Transport> = {
  webhook: webhookTransport, ntfy: ntfyTransport, email: emailTransport,
  slack: slackTransport, discord: discordTransport, telegram: telegramTransport, gotify: gotifyTransport, pushover: pushoverTransport, matrix: matrixTransport,
};
/** The lane of an outbox row: its channel, or the schedule whose pings it carries. */
const laneOf = (r: OutboxRow): string => r.channel_id ?? `schedule:${r.schedule_id ?? ''}`;

/**
 * Sends one schedule ping row (issue 21, SchedulePings.deliver): resolves with a detail or
 * rejects with a DeliveryError; the notifier retries it like any other row.
 */
export type PingSender = (row: OutboxRow, o: SendOptions) => Promise<string>;

/** Dead letters are kept this long (visible in Settings), then forgotten. */
const DEAD_KEEP_MS = 30 * 24 * 3600_000;

/**
 * Delivers alert changes to the matching enabled channels through the durable outbox
 * (migration 0028): `alertChanged` returns at once after writing one row per channel; each
 * channel's rows go out in order (a raise before its resolve), a failed attempt is retried after
 * 2 s, 4 s, 8 s … (capped) up to `maxAttempts`, then kept as a dead letter with the channel
 * marked failed. Rows survive a restart, and a row is sent by one process at a time (a lease,
 * `claimed_until`), so several servers on one database share the work. Retry timing is wall
 * time. A dead or slow channel delays only its own rows; nothing here throws into the caller.
 */
export class Notifier {
  private readonly repo: NotificationRepository;
  private readonly outbox: NotificationOutboxRepository;
  private readonly abort = new AbortController();
  private readonly o: Required<Omit<NotifierOptions, 'transports'>> & { transports: Record<ChannelType, Transport> };
  /** Channels with an attempt in flight in this process. */
  private readonly sending = new Set<string>();
  private inFlight = 0;
  private pumping = false;
  private again = false;
  private wake: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private prunedAt = 0;

  constructor(
    private readonly d: ServiceDeps,
    /** The SSRF guard every HTTP delivery passes (RM_NOTIFY_ALLOW_PRIVATE). */
    private readonly guard: TargetGuard,
    o: NotifierOptions = {},
    /** Sends the outbox's schedule pings (issue 21); without it they wait. */
    private readonly pings?: PingSender,
  ) {
    this.repo = new NotificationRepository(d.db);
    this.outbox = new NotificationOutboxRepository(d.db);
    this.o = {
      maxAttempts: o.maxAttempts ?? 5, baseDelayMs: o.baseDelayMs ?? 2000, maxDelayMs: o.maxDelayMs ?? 300_000,
      timeoutMs: o.timeoutMs ?? 10_000, maxQueue: o.maxQueue ?? 100, pollMs: o.pollMs ?? 5000, transports: { ...TRANSPORTS, ...o.transports },
    };
  }

  /** Starts sending what the outbox holds (also rows left by an earlier run) and polls it. */
  start(): void {
    if (this.closed || this.poll) return;
    this.poll = setInterval(() => this.kick(), this.o.pollMs);
    this.poll.unref();
    this.kick();
  }

  /** Reads the outbox now (a dead letter was put back). */
  wakeUp(): void {
    this.kick();
  }

  /** FleetService.onAlertChange: builds the event and writes it to every matching channel's outbox. Never throws. */
  alertChanged(c: AlertChange): void {
    if (this.closed) return;
    this.inFlight++;
    void this.fanOut(c)
      .catch((e: unknown) => this.d.log.error({ err: (e as Error).message }, 'notification fan-out failed'))
      .finally(() => {
        this.inFlight--;
        this.kick();
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

  /** Resolves once the outbox holds nothing waiting and nothing is being written or sent (tests). */
  idle(): Promise<void> {
    const p = new Promise<void>((r) => this.idleWaiters.push(r));
    void this.settle();
    return p;
  }

  /** Stops sending and aborts requests in flight (server shutdown); waiting rows stay in the outbox. */
  close(): void {
    this.closed = true;
    this.abort.abort();
    if (this.wake) clearTimeout(this.wake);
    if (this.poll) clearInterval(this.poll);
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async settle(): Promise<void> {
    const quiet = (): boolean => !this.pumping && this.sending.size === 0 && this.inFlight === 0;
    if (!this.idleWaiters.length || !(this.closed || quiet())) return;
    const waiting = this.closed ? 0 : await this.outbox.pendingCount().catch(() => 0);
    if (this.closed || (waiting === 0 && quiet())) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async fanOut(c: AlertChange): Promise<void> {
    const event = JSON.stringify(await this.eventFor(c));
    const at = iso(this.d.now());
    for (const ch of await this.repo.enabled()) {
      const kinds = JSON.parse(ch.kinds) as string[];
      if (kinds.length > 0 && !kinds.includes(c.alert.kind)) continue;
      if (RANK[c.alert.severity] < RANK[ch.min_severity]) continue;
      await this.outbox.add(ch.id, event, at, new Date().toISOString());
      const dropped = await this.outbox.trimPending(ch.id, this.o.maxQueue, new Date().toISOString());
      if (dropped) this.d.log.warn({ channel_id: ch.id, dropped }, 'notification outbox full for this channel; dropped the oldest waiting event(s)');
    }
  }

  /** Reads the outbox again soon (once more if a pass is running). */
  private kick(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  /** One pass: starts an attempt for every channel whose oldest waiting row is due; sets a timer for the next one. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        const now = Date.now();
        let next = Infinity;
        for (const head of await this.outbox.heads()) {
          if (this.sending.has(laneOf(head))) continue;
          const due = Math.max(Date.parse(head.next_attempt_at), head.claimed_until ? Date.parse(head.claimed_until) : 0);
          if (due > now) next = Math.min(next, due);
          else void this.attempt(head);
        }
        if (this.wake) clearTimeout(this.wake);
        this.wake = null;
        if (Number.isFinite(next) && !this.closed) {
          this.wake = setTimeout(() => this.kick(), Math.max(1, next - Date.now()));
          this.wake.unref();
        }
      } while (this.again && !this.closed);
      if (Date.now() - this.prunedAt > 3600_000) {
        this.prunedAt = Date.now();
        await this.outbox.pruneDead(new Date(Date.now() - DEAD_KEEP_MS).toISOString());
      }
    } catch (e) {
      this.d.log.error({ err: (e as Error).message }, 'reading the notification outbox failed');
    } finally {
      this.pumping = false;
    }
    await this.settle();
  }

  /**
   * One attempt of a lane's oldest row, under a lease; success deletes it, failure schedules a
   * retry or makes it a dead letter. A lane is a channel (alert events) or a schedule (its pings,
   * sent by the PingSender; they have no channel status to record).
   */
  private async attempt(head: OutboxRow): Promise<void> {
    const lane = laneOf(head);
    const channelId = head.channel_id;
    const ids = channelId ? { channel_id: channelId } : { schedule_id: head.schedule_id };
    this.sending.add(lane);
    try {
      const now = Date.now();
      if (!(await this.outbox.claim(head.seq, new Date(now).toISOString(), new Date(now + this.o.timeoutMs * 2 + 1000).toISOString()))) return;
      let send: () => Promise<string>;
      if (channelId) {
        const row = await this.repo.findById(channelId);
        if (!row || row.enabled !== 1) {
          await this.outbox.dropPendingOf(channelId); // disabled since: nothing left to send
          return;
        }
        send = () => this.send(row, JSON.parse(head.event) as AlertEvent);
      } else {
        const pings = this.pings;
        if (!pings) {
          await this.outbox.release(head.seq);
          return;
        }
        send = () => pings(head, { timeoutMs: this.o.timeoutMs, signal: this.abort.signal, guard: this.guard });
      }
      const record = (status: 'ok' | 'retrying' | 'failed', error: string | null, attempts: number): Promise<void> => (channelId ? this.record(channelId, status, error, attempts) : Promise.resolve());
      const attempt = head.attempts + 1;
      try {
        await send();
        await this.outbox.delivered(head.seq);
        await record('ok', null, attempt);
      } catch (e) {
        const msg = e instanceof DeliveryError ? e.message : 'internal error while sending';
        if (attempt < this.o.maxAttempts && !this.closed) {
          const retryIn = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
          await this.outbox.failed(head.seq, { attempts: attempt, error: msg, nextAt: new Date(Date.now() + retryIn).toISOString() });
          await record('retrying', msg, attempt);
          this.d.log.warn({ ...ids, attempt, retry_in_ms: retryIn, err: msg }, 'notification delivery failed; will retry');
        } else if (this.closed) {
          await this.outbox.release(head.seq).catch(() => undefined); // stopped mid-attempt: the next start retries it
        } else {
          await this.outbox.failed(head.seq, { attempts: attempt, error: msg, nextAt: null });
          await record('failed', msg, attempt);
          this.d.log.warn({ ...ids, attempt, err: msg }, 'notification delivery failed; kept as a dead letter');
        }
      }
    } catch (e) {
      this.d.log.error({ ...ids, err: (e as Error).message }, 'notification attempt failed');
    } finally {
      this.sending.delete(lane);
      this.kick();
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
