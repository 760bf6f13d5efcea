import { checkedTarget, pinnedPost } from './pinned-post.js';
import type { ChannelSecrets, SendOptions } from './types.js';
import { DeliveryError } from './types.js';

/** A status-only reason, with a hint for the statuses whose cause is clear (never the answer's body). */
export function statusReason(service: string, status: number): string {
  const hint = status === 401 || status === 403 ? ' (the credentials were refused)' : status === 404 ? ' (not found: check the address, chat or room)' : status === 429 ? ' (rate limited; the outbox retries later)' : status === 413 ? ' (the message is too large)' : '';
  return `${service} answered HTTP ${status}${hint}`;
}

/**
 * One request of an HTTP channel: the URL passes the SSRF guard (refusals name `field`), the
 * connection is pinned to the checked addresses, redirects are not followed, the answer's body
 * is never read; a non-2xx status is a DeliveryError naming the service and the status. Every
 * message is redacted of the channel's secrets. Resolves with the status.
 */
export async function sendHttp(
  o: SendOptions,
  secrets: ChannelSecrets,
  req: { service: string; url: string; field: string; method?: 'POST' | 'PUT'; headers: Record<string, string>; body: string },
): Promise<number> {
  const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]) : AbortSignal.timeout(o.timeoutMs);
  const target = await checkedTarget(o.guard, req.url, req.field, secrets);
  const status = await pinnedPost(target, { headers: { 'user-agent': 'restic-manager', ...req.headers }, body: req.body, signal, ...(req.method ? { method: req.method } : {}) }, secrets);
  if (status < 200 || status > 299) throw new DeliveryError(statusReason(req.service, status));
  return status;
}

/** `<base>` without trailing slashes. */
export const trimBase = (raw: unknown): string => String(raw).replace(/\/+$/, '');

/** A secret about to be put in a URL path must look like what the service issues (no `/`, `?`, `#`, spaces). */
export function pathSafe(value: string | undefined, what: string): string {
  if (!value) throw new DeliveryError(`no ${what} is stored: edit the channel and enter it`);
  if (!/^[A-Za-z0-9:_.~-]+$/.test(value)) throw new DeliveryError(`the stored ${what} has characters such a token never has: edit the channel and enter it again`);
  return value;
}
