import type { Context, Hono } from 'hono';
import type { ChannelType, NotificationChannelView } from '@restic-manager/protocol';
import { AlertSettingsUpdate, ChannelType as ChannelTypeSchema, NotificationChannelInput } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { DomainError } from '../services/errors.js';
import { SECRET_KEYS } from '../services/notify/types.js';
import { list, nest, numOrRaw, opt, parseForm } from './forms.js';
import { AlertRulesCard, ChannelForm, ChannelRow, ChannelsCard } from './pages/notifications.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard } from './web-context.js';

/** HX-Trigger toast; header values must be Latin-1, so everything else is sent as JSON \u escapes. */
const toast = (c: Context, message: string, kind: 'ok' | 'error' | 'info' = 'ok') =>
  c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message, kind } }).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));

/** The channel form -> NotificationChannelInput (validated with the REST schema; errors name `config.<x>`). */
function channelInput(raw: Record<string, unknown>, editing: boolean): NotificationChannelInput {
  const f = nest(raw);
  const type = typeof f.type === 'string' ? f.type : '';
  const config = { ...((f.config ?? {}) as Record<string, unknown>) };
  const clear = (f.clear ?? {}) as Record<string, unknown>;
  if (type === 'email') {
    config.port = numOrRaw(config.port) ?? '';
    config.to = list(config.to);
    config.username = opt(config.username) ?? null;
    config.host = opt(config.host) ?? '';
    config.from = opt(config.from) ?? '';
  }
  if (type === 'ntfy') config.server = opt(config.server);
  if (type === 'telegram' || type === 'pushover') config.api_url = opt(config.api_url);
  if (type === 'pushover') config.device = opt(config.device) ?? null;
  if (type === 'gotify') config.server = opt(config.server) ?? '';
  if (type === 'matrix') config.homeserver = opt(config.homeserver) ?? '';
  // An empty template means the default text.
  if (typeof config.template === 'string' && config.template.trim() === '') delete config.template;
  else if (typeof config.template === 'string') config.template = config.template.replace(/\r\n/g, '\n');
  for (const k of ChannelTypeSchema.safeParse(type).success ? SECRET_KEYS[type as ChannelType] : []) {
    // An empty secret input keeps the stored value when editing (and means "none" when adding).
    if (clear[k] === 'on') config[k] = null;
    else if (typeof config[k] !== 'string' || config[k] === '') delete config[k];
  }
  if (!editing) for (const k of Object.keys(config)) if (config[k] === null) delete config[k];
  const kinds = f.kinds === undefined ? [] : Array.isArray(f.kinds) ? f.kinds : [f.kinds];
  return parseForm(NotificationChannelInput, { type, name: opt(f.name) ?? '', enabled: f.enabled === 'on', kinds, min_severity: f.min_severity, config });
}

/** Settings → Notification channels and Alert rules (admin). Every change goes through the same services as the REST API. */
export function mountNotificationUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;
  const card = async (c: Context<AppEnv>) => c.html(<ChannelsCard channels={await s.notifications.list()} dead={(await s.notifications.outboxItems(actorOf(c), 'dead', 50, 0)).items} />);

  app.post('/settings/outbox/:seq/retry', guard('admin'), async (c) => {
    await s.notifications.retryDead(actorOf(c), Number(c.req.param('seq')) || 0);
    toast(c, 'Sent back to its channel’s queue.');
    return card(c);
  });
  app.delete('/settings/outbox/:seq', guard('admin'), async (c) => {
    await s.notifications.discard(actorOf(c), Number(c.req.param('seq')) || 0);
    toast(c, 'Notification discarded.');
    return card(c);
  });

  app.get('/settings/channels/form', guard('admin'), async (c) => {
    const id = c.req.query('id');
    const channel: NotificationChannelView | null = id ? await s.notifications.get(id) : null;
    const t = ChannelTypeSchema.safeParse(c.req.query('type'));
    return c.html(<ChannelForm type={channel?.type ?? (t.success ? t.data : 'webhook')} channel={channel} />);
  });

  app.post('/settings/channels', guard('admin'), async (c) => {
    const ch = await s.notifications.create(actorOf(c), channelInput(await formOf(c, { all: true }), false));
    toast(c, `Channel “${ch.name}” added. Use Send test to try it.`);
    return card(c);
  });

  app.put('/settings/channels/:id', guard('admin'), async (c) => {
    const ch = await s.notifications.update(actorOf(c), c.req.param('id'), channelInput(await formOf(c, { all: true }), true));
    toast(c, `Channel “${ch.name}” saved.`);
    return card(c);
  });

  app.delete('/settings/channels/:id', guard('admin'), async (c) => {
    const ch = await s.notifications.get(c.req.param('id'));
    await s.notifications.delete(actorOf(c), ch.id);
    toast(c, `Channel “${ch.name}” deleted.`);
    return card(c);
  });

  // The outcome is a toast either way; the row re-renders with the delivery status just recorded.
  app.post('/settings/channels/:id/test', guard('admin'), async (c) => {
    const id = c.req.param('id');
    try {
      const r = await s.notifications.test(actorOf(c), id);
      toast(c, `Test sent: ${r.detail}`);
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'delivery_failed') throw e;
      toast(c, e.message, 'error');
    }
    return c.html(<ChannelRow c={await s.notifications.get(id)} />);
  });

  // Issue 21: Send test of a schedule's ping URL (`<url>/log`); the outcome is a toast, nothing is swapped.
  app.post('/schedules/:id/ping-test', guard('admin'), async (c) => {
    try {
      const r = await s.pings.test(actorOf(c), c.req.param('id'));
      toast(c, `Test ping sent: ${r.detail}`);
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'delivery_failed') throw e;
      toast(c, e.message, 'error');
    }
    return c.body(null, 204);
  });

  app.put('/settings/alert-rules', guard('admin'), async (c) => {
    const f = await formOf(c, { all: true });
    const patch = parseForm(AlertSettingsUpdate, Object.fromEntries(['agent_offline_minutes', 'backup_overdue_hours', 'repo_growth_percent', 'restore_unproven_days'].map((k) => [k, numOrRaw(f[k]) ?? ''])));
    const settings = await s.alertRules.updateSettings(actorOf(c), patch);
    toast(c, 'Alert rules saved.');
    return c.html(<AlertRulesCard settings={settings} />);
  });
}
