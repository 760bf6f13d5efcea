import { BlockList, isIP } from 'node:net';

/** An IP allow-list from CIDR strings (`10.0.0.0/8`, `::1/128`). IPv4-mapped IPv6 is unwrapped. */
export class CidrList {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: string[]) {
    for (const c of cidrs) {
      const [addr, bits] = c.split('/');
      if (!addr) continue;
      this.list.addSubnet(addr, Number(bits), isIP(addr) === 6 ? 'ipv6' : 'ipv4');
    }
    this.empty = cidrs.length === 0;
  }

  has(ip: string): boolean {
    const a = normalizeIp(ip);
    const fam = isIP(a);
    if (!fam) return false;
    return this.list.check(a, fam === 6 ? 'ipv6' : 'ipv4');
  }
}

export const normalizeIp = (ip: string): string => (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

/**
 * The client address: the socket peer, unless the peer is a trusted proxy, in which case the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy.
 */
export function clientIp(peer: string, forwardedFor: string | undefined, trusted: CidrList): string {
  const p = normalizeIp(peer);
  if (trusted.empty || !forwardedFor || !trusted.has(p)) return p;
  const hops = forwardedFor.split(',').map((s) => normalizeIp(s.trim())).filter((s) => isIP(s));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop && !trusted.has(hop)) return hop;
  }
  return hops[0] ?? p;
}
