import { createHmac, randomUUID } from 'node:crypto';
import type { ChannelSecrets, Transport } from './types.js';
import { DeliveryError, networkReason, redact } from './types.js';

/** `sha256=<hex HMAC-SHA256 of the raw body under the channel secret>`. */
export const signBody = (body: string, secret: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * Webhook: `POST <url>` with the AlertEvent as JSON. Headers: `X-RM-Event` (alert.raised |
 * alert.resolved | test), `X-RM-Delivery` (a fresh id per attempt) and, with a secret,
 * `X-RM-Signature-256`. Any 2xx is success; anything else is a DeliveryError naming the status.
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
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'error' });
    } catch (e) {
      throw new DeliveryError(redact(networkReason(e, new URL(url).host), secrets));
    }
    const text = (await res.text().catch(() => '')).slice(0, 200).trim();
    if (!res.ok) throw new DeliveryError(redact(`webhook answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${text ? `: ${text}` : ''}`, secrets));
    return `webhook answered HTTP ${res.status}`;
  },
};
