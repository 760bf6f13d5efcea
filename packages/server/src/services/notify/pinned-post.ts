import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedTarget, TargetGuard } from './target-guard.js';
import { TargetRefused, TargetUnresolved } from './target-guard.js';
import type { ChannelSecrets } from './types.js';
import { DeliveryError, networkReason, redact } from './types.js';

/**
 * Checks `raw` with the guard (a refused or unresolvable target becomes a DeliveryError that
 * names the field), for transports to call before they send anything.
 */
export async function checkedTarget(guard: TargetGuard, raw: string, field: string, secrets: ChannelSecrets): Promise<CheckedTarget> {
  try {
    return await guard.check(raw, field);
  } catch (e) {
    if (e instanceof TargetRefused || e instanceof TargetUnresolved) throw new DeliveryError(redact(e.message, secrets));
    throw e;
  }
}

/**
 * POSTs (or PUTs) `body` to a checked target, connecting only to its checked addresses (the Host header
 * and TLS server name stay those of the URL), without following redirects and without reading
 * the answer's body: resolves with the status code alone. Network failures reject with a
 * DeliveryError (redacted).
 */
export function pinnedPost(target: CheckedTarget, init: { headers: Record<string, string>; body: string; signal: AbortSignal; method?: 'POST' | 'PUT' }, secrets: ChannelSecrets): Promise<number> {
  const [first] = target.addresses;
  if (!first) return Promise.reject(new DeliveryError(`cannot reach ${target.url.host}: no checked address`));
  const lookup: LookupFunction = (_host, opts, cb) => {
    if (opts.all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, target.addresses);
    else cb(null, first.address, first.family);
  };
  const mod = target.url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = mod.request(target.url, {
      method: init.method ?? 'POST', headers: { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
      lookup, signal: init.signal, agent: false,
    }, (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy(); // the answer's body is never read, stored or echoed
    });
    req.on('error', (e) => reject(new DeliveryError(redact(networkReason(e, target.url.host), secrets))));
    req.end(init.body);
  });
}
