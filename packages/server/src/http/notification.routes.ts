import { z } from 'zod';
import {
  AlertSettingsUpdate, AlertSettingsView, ChannelTestResult, SchedulePingTestResult, NotificationChannelInput, NotificationChannelView, NotificationOutboxItem, NotificationOutboxQuery,
} from '@restic-manager/protocol';
import { DomainError } from '../services/errors.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** The `:seq` of an outbox route: a positive integer, else 400 naming it. */
function outboxSeq(raw: string | undefined): number {
  const n = Number(raw);
  if (!/^[1-9]\d{0,15}$/.test(raw ?? '') || !Number.isSafeInteger(n)) throw new DomainError('validation_failed', 'seq: a positive integer', { seq: 'a positive integer' });
  return n;
}

/** Notification channels and alert thresholds (admin only); `GET /api/alerts` filters for viewers. */
export function notificationRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route({
      method: 'get', path: '/api/notification-channels', summary: 'Notification channels (secrets only as set / not set)', access: 'admin',
      response: z.object({ items: z.array(NotificationChannelView) }),
      handler: async () => ({ items: await s.notifications.list() }),
    }),
    route<NotificationChannelInput>({
      method: 'post', path: '/api/notification-channels', summary: 'Add a webhook, ntfy, e-mail, Slack, Discord, Telegram, Gotify, Pushover or Matrix channel (credentials are write-only; a URL on a loopback, private, link-local or metadata address is refused unless RM_NOTIFY_ALLOW_PRIVATE=true; a malformed config.template is a field error with line and column)', access: 'admin',
      body: NotificationChannelInput, response: NotificationChannelView, status: 201, creates: { path: '/api/notification-channels/:id', pointer: '/id' },
      handler: ({ actor, body }) => s.notifications.create(actor, body),
    }),
    route<NotificationChannelInput>({
      method: 'put', path: '/api/notification-channels/:id', summary: 'Replace a channel (omitted secrets are kept while the destination URL is unchanged; a changed destination needs them again; null clears)', access: 'admin',
      body: NotificationChannelInput, response: NotificationChannelView,
      handler: ({ actor, params, body }) => s.notifications.update(actor, params.id ?? '', body),
    }),
    route({
      method: 'delete', path: '/api/notification-channels/:id', summary: 'Delete a channel', access: 'admin',
      handler: async ({ actor, params }) => {
        await s.notifications.delete(actor, params.id ?? '');
      },
    }),
    route({
      method: 'post', path: '/api/notification-channels/:id/test', summary: 'Send a test notification now (502 delivery_failed with the reason)', access: 'admin',
      response: ChannelTestResult, errors: ['delivery_failed'],
      handler: ({ actor, params }) => s.notifications.test(actor, params.id ?? ''),
    }),
    route({
      method: 'post', path: '/api/schedules/:id/ping-test', summary: 'Send test of a schedule’s Healthchecks-style ping URL: one POST <url>/log (the check’s state is unchanged; 502 delivery_failed with the reason)', access: 'admin',
      response: SchedulePingTestResult, errors: ['delivery_failed'],
      handler: ({ actor, params }) => s.pings.test(actor, params.id ?? ''),
    }),
    route<undefined, z.infer<typeof NotificationOutboxQuery>>({
      method: 'get', path: '/api/notification-outbox', summary: 'The durable notification outbox: dead letters (default) or events waiting to be sent', access: 'admin',
      query: NotificationOutboxQuery, response: z.object({ items: z.array(NotificationOutboxItem) }),
      handler: ({ actor, query }) => s.notifications.outboxItems(actor, query.status, query.limit, query.offset),
    }),
    route({
      method: 'post', path: '/api/notification-outbox/:seq/retry', summary: 'Put a dead letter back in its channel queue (audited)', access: 'admin',
      handler: async ({ actor, params }) => {
        await s.notifications.retryDead(actor, outboxSeq(params.seq));
      },
    }),
    route({
      method: 'delete', path: '/api/notification-outbox/:seq', summary: 'Discard an outbox entry (audited)', access: 'admin',
      handler: async ({ actor, params }) => {
        await s.notifications.discard(actor, outboxSeq(params.seq));
      },
    }),
    route({
      method: 'get', path: '/api/alert-settings', summary: 'Alert thresholds', access: 'admin', response: AlertSettingsView,
      handler: () => s.alertRules.settings(),
    }),
    route<z.infer<typeof AlertSettingsUpdate>>({
      method: 'put', path: '/api/alert-settings', summary: 'Change alert thresholds (partial)', access: 'admin', body: AlertSettingsUpdate, response: AlertSettingsView,
      handler: ({ actor, body }) => s.alertRules.updateSettings(actor, body),
    }),
  ];
}
