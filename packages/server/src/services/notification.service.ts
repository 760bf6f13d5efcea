import type { NotificationChannelInput, NotificationChannelView } from '@restic-manager/protocol';
import type { NotificationOutboxItem } from '@restic-manager/protocol';
import { NotificationOutboxRepository } from '../repositories/notification-outbox.repository.js';
import type { OutboxRow } from '../repositories/notification-outbox.repository.js';
import type { PingEvent } from './schedule-pings.js';
import { NotificationRepository } from '../repositories/notification.repository.js';
import type { ChannelRow } from '../repositories/notification.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { Notifier } from './notify/notifier.js';
import type { TargetGuard } from './notify/target-guard.js';
import { TargetRefused, TargetUnresolved } from './notify/target-guard.js';
import type { ChannelSecrets } from './notify/types.js';
import { DeliveryError, DESTINATION_KEY, REQUIRED_SECRETS, SECRET_KEYS } from './notify/types.js';

/** The audit target of an outbox row: its channel, or the schedule whose ping it is. */
const outboxTarget = (r: OutboxRow): { kind: string; id: string } => (r.channel_id ? { kind: 'notification_channel', id: r.channel_id } : { kind: 'schedule', id: r.schedule_id ?? '' });

const requireAdmin = (a: Actor): void => {
  if (!(a.kind === 'user' && a.role === 'admin')) throw new DomainError('forbidden', 'only admins may manage notification channels');
};

/**
 * Notification channels (spec §9, issue 21): webhook, ntfy, e-mail, Slack, Discord, Telegram,
 * Gotify, Pushover, Matrix. Admin only. Secrets (webhook secret, tokens, SMTP password, webhook
 * URLs whose path is the credential) are sealed under `channel:<id>` and leave this service only
 * as "set" / "not set"; audit rows name the secrets that changed, never their values. A stored
 * secret is kept across an update only while the channel's destination stays the same.
 */
export class NotificationService {
  private readonly repo: NotificationRepository;
  private readonly outbox: NotificationOutboxRepository;

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly notifier: Notifier,
    private readonly guard: TargetGuard,
  ) {
    this.repo = new NotificationRepository(d.db);
    this.outbox = new NotificationOutboxRepository(d.db);
  }

  async list(): Promise<NotificationChannelView[]> {
    const counts = await this.outbox.counts();
    return (await this.repo.list()).map((r) => this.view(r, counts));
  }

  async get(id: string): Promise<NotificationChannelView> {
    return this.view(await this.row(id), await this.outbox.counts());
  }

  /** The outbox's waiting events or dead letters, newest first. Admin only. */
  async outboxItems(actor: Actor, status: 'pending' | 'dead', limit: number, offset: number): Promise<{ items: NotificationOutboxItem[] }> {
    requireAdmin(actor);
    const names = new Map((await this.repo.list()).map((c) => [c.id, c.name]));
    const items = (await this.outbox.list(status, limit, offset)).map((r): NotificationOutboxItem => {
      if (!r.channel_id) {
        const p = JSON.parse(r.event) as PingEvent;
        return {
          seq: r.seq, channel_id: r.schedule_id ?? '', channel_name: `ping of ${p.job_kind} schedule`, status: r.status, attempts: r.attempts, last_error: r.last_error,
          event: `ping.${p.ping}`, alert_kind: 'schedule_ping', severity: 'info', host_name: p.host_name, created_at: r.created_at, next_attempt_at: r.next_attempt_at,
        };
      }
      const e = JSON.parse(r.event) as { event: string; alert: { kind: string; severity: 'info' | 'warning' | 'critical'; host_name: string | null } };
      return {
        seq: r.seq, channel_id: r.channel_id, channel_name: names.get(r.channel_id) ?? r.channel_id, status: r.status, attempts: r.attempts, last_error: r.last_error,
        event: e.event, alert_kind: e.alert.kind, severity: e.alert.severity, host_name: e.alert.host_name, created_at: r.created_at, next_attempt_at: r.next_attempt_at,
      };
    });
    return { items };
  }

  /** Puts a dead letter back in its channel's queue, due now. Admin only; audited. */
  async retryDead(actor: Actor, seq: number): Promise<void> {
    requireAdmin(actor);
    const row = await this.outbox.findBySeq(seq);
    if (!row || row.status !== 'dead') throw notFound('dead letter', String(seq));
    await this.outbox.requeue(seq, new Date().toISOString());
    await this.audit.record(actor, 'notification_outbox.retry', outboxTarget(row), { seq });
    this.notifier.wakeUp();
  }

  /** Forgets an outbox row (a dead letter, or an event that should not be sent any more). Admin only; audited. */
  async discard(actor: Actor, seq: number): Promise<void> {
    requireAdmin(actor);
    const row = await this.outbox.findBySeq(seq);
    if (!row) throw notFound('outbox entry', String(seq));
    await this.outbox.remove(seq);
    await this.audit.record(actor, 'notification_outbox.discard', outboxTarget(row), { seq, status: row.status });
  }

  async create(actor: Actor, input: NotificationChannelInput): Promise<NotificationChannelView> {
    requireAdmin(actor);
    await this.checkTarget(input);
    const id = crypto.randomUUID();
    const { plain, secrets, changed } = this.split(input, {}, null);
    const at = iso(this.d.now());
    await this.repo.insert({
      id, name: input.name, type: input.type, enabled: input.enabled ? 1 : 0, config: JSON.stringify(plain), secrets_enc: this.seal(id, secrets),
      kinds: JSON.stringify(input.kinds), min_severity: input.min_severity, last_status: null, last_attempt_at: null, last_error: null,
      last_attempts: 0, last_success_at: null, created_at: at, updated_at: at,
    });
    await this.audit.record(actor, 'notification_channel.create', { kind: 'notification_channel', id }, { ...this.summary(input, plain), changed_secrets: changed });
    return this.get(id);
  }

  /** Replaces a channel's settings; a secret left out is kept, null or "" clears it. The type cannot change. */
  async update(actor: Actor, id: string, input: NotificationChannelInput): Promise<NotificationChannelView> {
    requireAdmin(actor);
    const row = await this.row(id);
    if (row.type !== input.type) throw new DomainError('validation_failed', `the type of a channel cannot change (it is ${row.type}): delete it and add a new one`, { type: `stays ${row.type}` });
    await this.checkTarget(input);
    const { plain, secrets, changed } = this.split(input, this.secretsOf(row), JSON.parse(row.config) as Record<string, unknown>);
    await this.repo.update(id, {
      name: input.name, enabled: input.enabled ? 1 : 0, config: JSON.stringify(plain), secrets_enc: this.seal(id, secrets),
      kinds: JSON.stringify(input.kinds), min_severity: input.min_severity, updated_at: iso(this.d.now()),
    });
    await this.audit.record(actor, 'notification_channel.update', { kind: 'notification_channel', id }, { ...this.summary(input, plain), changed_secrets: changed });
    return this.get(id);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    const row = await this.row(id);
    await this.repo.delete(id);
    await this.audit.record(actor, 'notification_channel.delete', { kind: 'notification_channel', id }, { name: row.name, type: row.type });
  }

  /** Sends a test notification now and reports the outcome; a failure is `delivery_failed` with the real reason. */
  async test(actor: Actor, id: string): Promise<{ ok: true; channel_id: string; detail: string }> {
    requireAdmin(actor);
    const row = await this.row(id);
    try {
      const detail = await this.notifier.deliverNow(row, await this.notifier.eventFor({ change: 'test' }));
      await this.audit.record(actor, 'notification_channel.test', { kind: 'notification_channel', id }, { ok: true });
      return { ok: true, channel_id: id, detail };
    } catch (e) {
      const msg = e instanceof DeliveryError ? e.message : 'internal error while sending';
      await this.audit.record(actor, 'notification_channel.test', { kind: 'notification_channel', id }, { ok: false, error: msg });
      throw new DomainError('delivery_failed', `test notification to “${row.name}” failed: ${msg}`);
    }
  }

  /**
   * The SSRF guard on save: a channel URL (DESTINATION_KEY, or a Slack/Discord webhook URL) whose host is (or resolves to) a refused address
   * is a validation error naming the field. A name that does not resolve now is accepted; every
   * delivery checks again and connects only to the addresses it checked.
   */
  private async checkTarget(input: NotificationChannelInput): Promise<void> {
    const cfg = input.config as Record<string, unknown>;
    const key = DESTINATION_KEY[input.type] ?? (input.type === 'slack' || input.type === 'discord' ? 'webhook_url' : null);
    const raw = key ? cfg[key] : undefined;
    if (!key || typeof raw !== 'string' || raw === '') return; // a secret URL left out is the stored one, checked when it was saved
    const target = { raw, field: `config.${key}` };
    try {
      await this.guard.check(target.raw, target.field);
    } catch (e) {
      if (e instanceof TargetRefused) throw new DomainError('validation_failed', e.message, { [e.field]: e.message.slice(e.field.length + 2) });
      if (!(e instanceof TargetUnresolved)) throw e;
    }
  }

  private async row(id: string): Promise<ChannelRow> {
    const row = await this.repo.findById(id);
    if (!row) throw notFound('notification channel', id);
    return row;
  }

  private secretsOf(row: ChannelRow): ChannelSecrets {
    return row.secrets_enc ? this.d.box.openJson<ChannelSecrets>(row.secrets_enc, `channel:${row.id}`) : {};
  }

  private seal(id: string, secrets: ChannelSecrets): string | null {
    return Object.keys(secrets).length ? this.d.box.sealJson(secrets, `channel:${id}`) : null;
  }

  /**
   * Splits the input config into stored plain settings and the merged secrets; lists the secrets
   * that changed. `storedConfig` (an update) keeps omitted secrets only while the destination
   * (DESTINATION_KEY) is unchanged. A required secret missing afterwards is a field error.
   */
  private split(input: NotificationChannelInput, storedSecrets: ChannelSecrets, storedConfig: Record<string, unknown> | null) {
    const cfgIn = input.config as Record<string, unknown>;
    const cfg = { ...cfgIn };
    const dest = DESTINATION_KEY[input.type];
    const moved = !!(storedConfig && dest && String(storedConfig[dest]).replace(/\/+$/, '') !== String(cfg[dest]).replace(/\/+$/, ''));
    const stored: ChannelSecrets = moved ? {} : storedSecrets;
    const secrets: ChannelSecrets = { ...stored };
    const changed: string[] = moved ? Object.keys(storedSecrets) : [];
    for (const k of SECRET_KEYS[input.type]) {
      const v = cfg[k] as string | null | undefined;
      delete cfg[k];
      if (v === undefined) continue;
      if (v === null || v === '') {
        if (secrets[k] !== undefined && !changed.includes(k)) changed.push(k);
        delete secrets[k];
      } else {
        if (secrets[k] !== v && !changed.includes(k)) changed.push(k);
        secrets[k] = v;
      }
    }
    // A required secret that is not there, or (the destination moved) a stored one neither re-entered nor removed.
    const missing = SECRET_KEYS[input.type].filter((k) => (REQUIRED_SECRETS[input.type].includes(k) && !secrets[k]) || (moved && storedSecrets[k] && cfgIn[k] === undefined));
    if (missing.length) {
      const why = moved ? `enter it again (or remove it): the ${dest} changed, and a stored credential is never sent to a new address` : 'required';
      throw new DomainError('validation_failed', missing.map((k) => `config.${k}: ${why}`).join('; '), Object.fromEntries(missing.map((k) => [`config.${k}`, why])));
    }
    return { plain: cfg, secrets, changed };
  }

  private summary(input: NotificationChannelInput, plain: Record<string, unknown>) {
    return { name: input.name, type: input.type, enabled: input.enabled, kinds: input.kinds, min_severity: input.min_severity, config: plain };
  }

  private view(r: ChannelRow, counts: { channel_id: string; status: string; n: number }[]): NotificationChannelView {
    const n = (status: string): number => counts.find((c) => c.channel_id === r.id && c.status === status)?.n ?? 0;
    const secrets = this.secretsOf(r);
    return {
      id: r.id, name: r.name, type: r.type, enabled: r.enabled === 1, kinds: JSON.parse(r.kinds) as NotificationChannelView['kinds'], min_severity: r.min_severity,
      config: JSON.parse(r.config) as Record<string, unknown>,
      secrets: Object.fromEntries(SECRET_KEYS[r.type].map((k) => [k, secrets[k] ? 'set' : 'not set'])),
      last_delivery: { status: r.last_status, at: r.last_attempt_at, error: r.last_error, attempts: r.last_attempts, last_success_at: r.last_success_at },
      outbox: { waiting: n('pending'), dead: n('dead') },
      created_at: r.created_at, updated_at: r.updated_at,
    };
  }
}
