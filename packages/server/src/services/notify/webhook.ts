import { createHmac, randomUUID } from 'node:crypto';
import type { ChannelSecrets, Transport } from './types.js';
import { checkedTarget, pinnedPost } from './pinned-post.js';
import { DeliveryError } from './types.js';

/** `sha256=<hex HMAC-SHA256 of the raw body under the channel secret>`. */
export const signBody = (body: string, secret: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * Webhook: `POST <url>` with the AlertEvent as JSON. Headers: `X-RM-Event` (alert.raised |
 * alert.resolved | test), `X-RM-Delivery` (a fresh id per attempt) and, with a secret,
 * `X-RM-Signature-256`. Any 2xx is success; anything else is a DeliveryError naming the status
 * (never the answer's body). The URL passes the SSRF guard first and the connection is pinned to
 * the checked address; redirects are not followed.
 */
export const webhookTransport: Transport = {
  async send(config, secrets: ChannelSecrets, event, o) {
    const url = String(config.url);
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      'content-type': 'application/json', 'user-agent': 'restic-manager', 'x-rm-event': event.event, 'x-rm-delivery': randomUUID(),
    };
    if (secrets.secret) headers['x-rm-signature-256'] = signBody(body, secrets.secret);
    const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]) : AbortSignal.timeout(o.timeoutMs);
    const target = await checkedTarget(o.guard, url, 'config.url', secrets);
    const status = await pinnedPost(target, { headers, body, signal }, secrets);
    // Only the status code: the answer's body is never echoed (it could be anything the URL reaches).
    if (status < 200 || status > 299) throw new DeliveryError(`webhook answered HTTP ${status}`);
    return `webhook answered HTTP ${status}`;
  },
};
