import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../crypto/secret-box.js';
import { safeEqual } from '../crypto/tokens.js';

/** The request header that carries a replica token. */
export const RELAY_HEADER = 'x-rm-relay';
/** How long a minted token is good for (the request is sent at once). */
export const RELAY_TOKEN_TTL_MS = 10_000;
/** An expiry further ahead than this is refused (a token is never minted for later). */
const MAX_AHEAD_MS = RELAY_TOKEN_TTL_MS + 30_000;
/** Tokens remembered as used until they expire, at most (replay protection). */
const MAX_USED = 10_000;
const PURPOSE = 'replica-relay';
const FORMAT = /^v1\.([0-9a-f-]{36})\.(\d{13})\.([0-9a-f]{64})$/;

/** What a token is bound to: the request it may authorise, on which replica. */
export interface RelayRequest {
  method: string;
  /** Path and query exactly as sent (`/api/internal/…?a=1`). */
  target: string;
  /** The bus id of the replica the request is for. */
  replica: string;
}

/**
 * Short-lived tokens between server replicas (docs/decisions/server-0013-downloads-across-replicas.md):
 * an HMAC-SHA256 under a subkey of the server's secret key (every replica shares the key file)
 * over the method, the path and query, the receiving replica's id, a random request id and an
 * expiry RELAY_TOKEN_TTL_MS ahead. `verify` compares in constant time, refuses an expired token
 * and one already used (each request id is accepted once). A token is a header value: it is
 * never logged and never put in an error message.
 */
export class RelayTokens {
  /** request id -> expiry, for the tokens accepted and not yet expired. */
  private readonly used = new Map<string, number>();

  constructor(private readonly box: SecretBox, private readonly self: string, private readonly now: () => number = Date.now) {}

  /** A token for one request to another replica. */
  mint(r: RelayRequest): string {
    const id = randomUUID();
    const exp = this.now() + RELAY_TOKEN_TTL_MS;
    return `v1.${id}.${exp}.${this.mac(r, id, exp)}`;
  }

  /** Whether `token` authorises this request to this replica (and records it as used). Never throws. */
  verify(token: string | null | undefined, method: string, target: string): boolean {
    const m = typeof token === 'string' && token.length <= 200 ? FORMAT.exec(token) : null;
    if (!m) return false;
    const [, id = '', expText = '', mac = ''] = m;
    const exp = Number(expText);
    const now = this.now();
    if (!safeEqual(mac, this.mac({ method, target, replica: this.self }, id, exp))) return false;
    if (exp < now || exp > now + MAX_AHEAD_MS) return false;
    this.prune(now);
    if (this.used.has(id) || this.used.size >= MAX_USED) return false;
    this.used.set(id, exp);
    return true;
  }

  private mac(r: RelayRequest, id: string, exp: number): string {
    return this.box.digest(['v1', r.method.toUpperCase(), r.target, r.replica, id, String(exp)].join('\n'), PURPOSE);
  }

  private prune(now: number): void {
    for (const [id, exp] of this.used) if (exp < now) this.used.delete(id);
  }
}
