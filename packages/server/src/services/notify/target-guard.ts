import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Why an address is not a public one. */
export type AddressClass = 'cloud metadata' | 'unspecified' | 'loopback' | 'link-local' | 'multicast or reserved' | 'private';

/** Classes refused even when private targets are allowed: nothing a notification should reach. */
const ALWAYS_REFUSED: ReadonlySet<AddressClass> = new Set(['cloud metadata', 'unspecified', 'link-local', 'multicast or reserved']);

const RANGES: [AddressClass, [string, number, 'ipv4' | 'ipv6'][]][] = [
  ['cloud metadata', [['169.254.169.254', 32, 'ipv4'], ['fd00:ec2::254', 128, 'ipv6']]],
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['multicast or reserved', [['224.0.0.0', 4, 'ipv4'], ['240.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]],
  ['private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['fc00::', 7, 'ipv6']]],
];

const LISTS: [AddressClass, BlockList][] = RANGES.map(([cls, nets]) => {
  const list = new BlockList();
  for (const [net, prefix, type] of nets) list.addSubnet(net, prefix, type);
  return [cls, list];
});

/** The class of a literal IP address (IPv4-mapped IPv6 counts as its IPv4), or null for a public address. */
export function classify(address: string): AddressClass | null {
  const family = isIP(address);
  if (!family) throw new Error(`not an IP address: ${address}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [cls, list] of LISTS) if (list.check(address, type)) return cls;
  return null;
}

/** One address a checked target may be reached at. */
export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

/** A notification target that passed the check: connect only to these addresses. */
export interface CheckedTarget {
  url: URL;
  addresses: PinnedAddress[];
}

/** The target is not allowed; the message names the field and says why (never a secret, never a response body). */
export class TargetRefused extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

/** The name could not be resolved (delivery fails; saving still accepts it). */
export class TargetUnresolved extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetUnresolved';
  }
}

export type Resolver = (host: string) => Promise<PinnedAddress[]>;

const systemResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/**
 * The SSRF guard of every HTTP channel and schedule ping (docs/alerts.md "Where notifications may go").
 * `check` resolves the URL's host ONCE, refuses it when ANY address is loopback, private,
 * link-local, cloud metadata, unspecified or multicast (loopback and private are allowed with
 * RM_NOTIFY_ALLOW_PRIVATE=true; the rest never), and returns the checked addresses, to which
 * the caller pins its connection (so a second DNS answer cannot swap in another address).
 * Throws TargetRefused (refused) or TargetUnresolved (no address).
 */
export class TargetGuard {
  constructor(
    readonly allowPrivate: boolean,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  async check(raw: string, field: string): Promise<CheckedTarget> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new TargetRefused(field, `${field}: not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TargetRefused(field, `${field}: only http and https URLs are allowed`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: PinnedAddress[];
    if (isIP(host)) {
      addresses = [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
    } else {
      try {
        addresses = await this.resolve(host);
      } catch (e) {
        throw new TargetUnresolved(`cannot resolve ${host}: ${(e as { code?: string }).code ?? (e as Error).message}`);
      }
      if (!addresses.length) throw new TargetUnresolved(`cannot resolve ${host}: no address`);
    }
    for (const a of addresses) {
      const cls = classify(a.address);
      if (!cls) continue;
      const via = a.address === host ? `${host} is` : `${host} resolves to ${a.address},`;
      if (ALWAYS_REFUSED.has(cls)) throw new TargetRefused(field, `${field}: ${via} a ${cls} address, which notifications never reach`);
      if (!this.allowPrivate) throw new TargetRefused(field, `${field}: ${via} a ${cls} address; notifications to loopback and private addresses are refused unless the server runs with RM_NOTIFY_ALLOW_PRIVATE=true`);
    }
    return { url, addresses };
  }
}
