import { CidrList } from './net.js';

/**
 * The start-up warning for `/metrics` behind a same-host proxy: with RM_TRUSTED_PROXY unset the
 * client address is the socket peer, so when a reverse proxy on this host forwards every visitor
 * from 127.0.0.1 (or ::1) and RM_METRICS_ALLOW admits loopback (the default), anyone who can
 * reach the proxy can read `/metrics` without RM_METRICS_TOKEN. Null when that cannot happen.
 */
export function metricsExposureWarning(c: { trustedProxies: string[]; metricsAllow: string[] }): string | null {
  if (c.trustedProxies.length > 0) return null;
  const allow = new CidrList(c.metricsAllow);
  const loopback = ['127.0.0.1', '::1'].filter((ip) => allow.has(ip));
  if (loopback.length === 0) return null;
  return `/metrics answers every client whose connection comes from ${loopback.join(' or ')} without a token, and RM_TRUSTED_PROXY is unset: behind a reverse proxy on this host every visitor arrives from there and can read /metrics. Set RM_TRUSTED_PROXY to the proxy's address (the real client address is then used), or set RM_METRICS_TOKEN and narrow RM_METRICS_ALLOW.`;
}
