import type { AlertEvent } from './types.js';

/* The human-readable texts of a notification: the ntfy title/body and the e-mail subject/body. */

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
