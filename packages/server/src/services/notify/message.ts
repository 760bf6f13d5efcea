import type { TemplateVariable } from '@restic-manager/protocol';
import { parseTemplate } from '@restic-manager/protocol';
import type { AlertEvent } from './types.js';

/* The human-readable texts of a notification: the default title and body, and channel message templates. */

const where = (e: AlertEvent): string => (e.alert.host_name ? ` on ${e.alert.host_name}` : '');

/** `[restic-manager] CRITICAL backup_failed on host-a`, `[restic-manager] RESOLVED …`, `[restic-manager] test notification`. */
export function titleOf(e: AlertEvent): string {
  if (e.event === 'test') return '[restic-manager] test notification';
  const state = e.event === 'alert.resolved' ? 'RESOLVED' : e.alert.severity.toUpperCase();
  return `[restic-manager] ${state} ${e.alert.kind}${where(e)}`;
}

/** Plain-text body: the alert message, its facts one per line, and the link to the alerts page. */
export function bodyOf(e: AlertEvent): string {
  const a = e.alert;
  const lines = [
    e.event === 'test' ? 'This is a test notification from restic-manager: the channel works.' : e.event === 'alert.resolved' ? `Resolved: ${a.message}` : a.message,
    '',
    `Kind: ${a.kind}`,
    `Severity: ${a.severity}`,
    `Host: ${a.host_name ?? 'fleet'}`,
    `Raised: ${a.created_at}`,
    ...(a.resolved_at ? [`Resolved: ${a.resolved_at}`] : []),
    ...(a.acknowledged_at ? [`Acknowledged: ${a.acknowledged_at}`] : []),
    '',
    `${e.server_url}/alerts`,
  ];
  return lines.join('\n');
}

/** The value of every template variable for an event (docs/alerts.md "Message templates"). */
export function variablesOf(e: AlertEvent): Record<TemplateVariable, string> {
  const a = e.alert;
  return {
    title: titleOf(e), body: bodyOf(e), event: e.event,
    state: e.event === 'test' ? 'TEST' : e.event === 'alert.resolved' ? 'RESOLVED' : 'RAISED',
    severity: a.severity, kind: a.kind, message: a.message, host: a.host_name ?? 'fleet',
    raised_at: a.created_at, resolved_at: a.resolved_at ?? '', url: `${e.server_url}/alerts`,
  };
}

/**
 * Renders a template (already validated when the channel was saved) for an event; `escape` is
 * applied to every variable's value, never to the template's own text (Slack's `&<>`, for one).
 */
export function render(template: string, e: AlertEvent, escape: (s: string) => string = (s) => s): string {
  const vars = variablesOf(e);
  return parseTemplate(template).map((p) => ('text' in p ? p.text : escape(vars[p.variable]))).join('');
}

/** The channel's text: its `template` when set, else `fallback` (also a template). */
export function textOf(config: Record<string, unknown>, e: AlertEvent, fallback: string, escape?: (s: string) => string): string {
  const t = typeof config.template === 'string' && config.template !== '' ? config.template : fallback;
  return render(t, e, escape);
}

/** Cuts `s` to at most `max` characters (code points), ending in “…” when cut. */
export function clip(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}
