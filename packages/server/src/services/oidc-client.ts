import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import type { OidcConfig } from '../oidc-config.js';
import { OidcError } from './oidc-errors.js';
import { setOwn } from '../own-property.js';

/** What the browser's sign-in attempt must carry back: kept server-side, keyed by a cookie. */
export interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  next: string;
  createdAt: number;
}

/** Claims the service needs, merged from the ID token and (when absent there) UserInfo. */
export interface VerifiedClaims {
  issuer: string;
  subject: string;
  claims: Record<string, unknown>;
}

const DISCOVERY_TIMEOUT_S = 5;

/**
 * Thin wrapper over openid-client v6: discovery (cached after the first success, retried on
 * the next sign-in after a failure), the authorization URL with PKCE S256 + state + nonce, and
 * the code exchange in which the library validates the ID token (issuer, audience, expiry,
 * signature, nonce). Errors become OidcError with a fixed reason and no provider text that
 * could carry a token; the client secret never leaves the openid-client Configuration.
 */
export class OidcClient {
  private config: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly cfg: OidcConfig,
    private readonly log: Logger,
  ) {}

  /** Discovers the provider (used at start-up to report a misconfiguration early). */
  async discover(): Promise<oidc.Configuration> {
    this.config ??= oidc
      .discovery(new URL(this.cfg.issuer), this.cfg.clientId, { client_secret: this.cfg.clientSecret }, oidc.ClientSecretBasic(this.cfg.clientSecret), {
        timeout: DISCOVERY_TIMEOUT_S,
        ...(this.cfg.allowInsecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((e: unknown) => {
        this.config = undefined;
        this.log.warn({ event: 'oidc_discovery_failed', issuer: this.cfg.issuer, reason: describe(e) }, 'OIDC provider discovery failed');
        throw new OidcError('unavailable');
      });
    return this.config;
  }

  /** A fresh attempt: the URL to send the browser to and what the callback must match. */
  async begin(next: string, now: number): Promise<{ url: string; pending: PendingLogin }> {
    const config = await this.discover();
    const verifier = oidc.randomPKCECodeVerifier();
    const pending: PendingLogin = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier, next, createdAt: now };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.cfg.redirectUri,
      scope: this.cfg.scopes,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  /** Exchanges the code and validates the ID token; `callback` is the full callback URL. */
  async finish(callback: URL, pending: PendingLogin): Promise<VerifiedClaims> {
    const config = await this.discover();
    const current = new URL(this.cfg.redirectUri);
    current.search = callback.search;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true,
      });
    } catch (e) {
      this.log.warn({ event: 'oidc_code_exchange_failed', reason: describe(e) }, 'OIDC sign-in failed');
      throw new OidcError(isNetwork(e) ? 'unavailable' : 'provider_error');
    }
    const id = tokens.claims();
    if (!id) throw new OidcError('provider_error');
    const claims: Record<string, unknown> = { ...id };
    if (claims[this.cfg.roleClaim] === undefined && tokens.access_token) {
      try {
        for (const [k, v] of Object.entries(await oidc.fetchUserInfo(config, tokens.access_token, id.sub))) setOwn(claims, k, v);
        claims.sub = id.sub;
      } catch (e) {
        this.log.warn({ event: 'oidc_userinfo_failed', reason: describe(e) }, 'OIDC UserInfo request failed');
        throw new OidcError(isNetwork(e) ? 'unavailable' : 'provider_error');
      }
    }
    return { issuer: id.iss, subject: id.sub, claims };
  }
}

/** A log-safe reason: the library's error code and class, never a response body or token. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return 'unknown error';
  const code = (e as { code?: unknown }).code;
  const oauth = (e as { error?: unknown }).error;
  const cause = e.cause instanceof Error ? ((e.cause as { code?: unknown }).code ?? e.cause.name) : undefined;
  const parts = [e.name, typeof code === 'string' ? code : null, typeof oauth === 'string' ? oauth : null, typeof cause === 'string' ? cause : null];
  return [...new Set(parts.filter(Boolean))].join(' ');
}

function isNetwork(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return e.name === 'TypeError' || e.name === 'TimeoutError' || e.name === 'AbortError' || (e.cause instanceof Error && /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|fetch failed/.test(`${String((e.cause as { code?: unknown }).code)} ${e.cause.message}`));
}
