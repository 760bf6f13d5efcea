import type { AlertEvent, ChannelSecrets, Transport } from './types.js';
import { checkedTarget, pinnedPost } from './pinned-post.js';
import { DeliveryError } from './types.js';
import { textOf, titleOf } from './message.js';

/** ntfy priorities: 5 urgent (critical), 4 high (warning), 3 default (info, resolved, test). */
const priorityOf = (e: AlertEvent): string => (e.event !== 'alert.raised' ? '3' : e.alert.severity === 'critical' ? '5' : e.alert.severity === 'warning' ? '4' : '3');
/** Tags (ntfy shows known emoji names as icons): the state, then the alert kind. */
const tagsOf = (e: AlertEvent): string => {
  const icon = e.event === 'test' ? 'test_tube' : e.event === 'alert.resolved' ? 'white_check_mark' : e.alert.severity === 'critical' ? 'rotating_light' : 'warning';
  return [icon, 'restic-manager', ...(e.event === 'test' ? [] : [e.alert.kind])].join(',');
};
/** Header values must be ASCII: anything else is sent RFC 2047-encoded, which ntfy decodes. */
const headerSafe = (s: string): string => (/^[\x20-\x7e]*$/.test(s) ? s : `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`);

/**
 * ntfy: `POST <server>/<topic>`, the plain-text body as the message, headers `Title`,
 * `Priority`, `Tags`, `Click` (the alerts page) and, with a token, `Authorization: Bearer`.
 * Same SSRF guard, address pinning and status-only errors as the webhook.
 */
export const ntfyTransport: Transport = {
  async send(config, secrets: ChannelSecrets, event, o) {
    const server = String(config.server).replace(/\/+$/, '');
    const url = `${server}/${encodeURIComponent(String(config.topic))}`;
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=utf-8', 'user-agent': 'restic-manager', title: headerSafe(titleOf(event)), priority: priorityOf(event), tags: tagsOf(event), click: `${event.server_url}/alerts`,
    };
    if (secrets.token) headers.authorization = `Bearer ${secrets.token}`;
    const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]) : AbortSignal.timeout(o.timeoutMs);
    const target = await checkedTarget(o.guard, url, 'config.server', secrets);
    const status = await pinnedPost(target, { headers, body: textOf(config, event, '{{body}}'), signal }, secrets);
    // Only the status code: the answer's body is never echoed.
    if (status < 200 || status > 299) throw new DeliveryError(`ntfy answered HTTP ${status}`);
    return `ntfy accepted the message (HTTP ${status})`;
  },
};
