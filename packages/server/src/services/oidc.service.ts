import { createHash, randomUUID } from 'node:crypto';
import type { Role } from '@restic-manager/protocol';
import type { OidcConfig } from '../oidc-config.js';
import { randomToken } from '../crypto/tokens.js';
import { OidcPendingRepository } from '../repositories/oidc-pending.repository.js';
import type { UserRow } from '../repositories/user.repository.js';
import type { AuthService, SessionInfo } from './auth.service.js';
import type { ServiceDeps } from './context.js';
import { iso } from './context.js';
import type { PendingLogin, VerifiedClaims } from './oidc-client.js';
import { OidcClient } from './oidc-client.js';
import { OidcError } from './oidc-errors.js';

/** How long a started sign-in may take at the provider. */
export const PENDING_TTL_MS = 10 * 60_000;
const MAX_PENDING = 10_000;

/** The stored key of an attempt: its cookie value is never kept. */
const attemptId = (attempt: string): string => createHash('sha256').update(attempt).digest('hex');

/** Picks the highest role whose groups intersect the claim; null when none (and no default). */
export function mapRole(claims: Record<string, unknown>, cfg: Pick<OidcConfig, 'roleClaim' | 'groups' | 'defaultRole'>): Role | null {
  const raw = claims[cfg.roleClaim];
  const have = new Set(Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? raw.split(/[\s,]+/) : []);
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    if (cfg.groups[role].some((g) => have.has(g))) return role;
  }
  return cfg.defaultRole;
}

/**
 * OIDC sign-in (spec §7.1): starts attempts, completes them, provisions and links users by
 * (issuer, subject), and re-evaluates the role from the groups claim at every sign-in.
 * Attempts live in the database (migration 0029: any server process on it can complete one),
 * sealed, keyed by the hash of the attempt cookie, single-use, for PENDING_TTL_MS.
 */
export class OidcService {
  private readonly pending: OidcPendingRepository;
  readonly client: OidcClient;

  constructor(
    private readonly d: ServiceDeps,
    private readonly auth: AuthService,
    readonly cfg: OidcConfig,
  ) {
    this.client = new OidcClient(cfg, d.log);
    this.pending = new OidcPendingRepository(d.db);
  }

  /** Button label for the login page. */
  get name(): string {
    return this.cfg.name;
  }

  /** Starts an attempt; the caller stores `attempt` in a cookie and redirects to `url`. */
  async begin(next: string): Promise<{ attempt: string; url: string }> {
    const now = this.d.now();
    const { url, pending } = await this.client.begin(next, now);
    await this.pending.sweep(iso(now - PENDING_TTL_MS), MAX_PENDING);
    const attempt = randomToken();
    const id = attemptId(attempt);
    await this.pending.add(id, this.d.box.sealJson(pending, `oidc:${id}`), iso(now));
    return { attempt, url };
  }

  /**
   * Completes an attempt from the callback URL. The attempt is consumed first, so a replayed
   * callback (same state, nonce and code) is refused as `expired`.
   */
  async complete(attempt: string | undefined, callback: URL, ip: string, ua: string | null): Promise<{ token: string; session: SessionInfo; next: string }> {
    const id = attempt ? attemptId(attempt) : undefined;
    const sealed = id ? await this.pending.take(id) : undefined;
    const pending = sealed && id ? this.d.box.openJson<PendingLogin>(sealed, `oidc:${id}`) : undefined;
    const q = callback.searchParams;
    if (!pending || pending.createdAt + PENDING_TTL_MS <= this.d.now()) throw this.fail('expired', ip);
    if (q.get('state') !== pending.state) throw this.fail('state_mismatch', ip);
    const err = q.get('error');
    if (err) throw this.fail(err === 'access_denied' || err === 'consent_required' || err === 'login_required' ? 'denied' : 'provider_error', ip);
    const verified = await this.client.finish(callback, pending);
    const role = mapRole(verified.claims, this.cfg);
    if (!role) throw this.fail('no_role', ip);
    const user = await this.linkedUser(verified, role);
    if (user.disabled_at) throw this.fail('disabled', ip);
    const { token, session } = await this.auth.openSessionFor(user, ip, ua, 'oidc');
    return { token, session, next: pending.next };
  }

  private async linkedUser(v: VerifiedClaims, role: Role): Promise<UserRow> {
    const users = this.d.repos.users;
    const found = await users.findByIdentity(v.issuer, v.subject);
    if (found) {
      if (found.role !== role) await this.auth.applyRole({ kind: 'system' }, found, role, 'oidc');
      return { ...found, role };
    }
    const row: UserRow = {
      id: randomUUID(), username: await this.freeUsername(v), password_hash: '!oidc', role,
      created_at: iso(this.d.now()), last_login_at: null, disabled_at: null, auth_method: 'oidc', totp_enabled_at: null, scope_tags: null,
    };
    await this.d.inTx(async (r) => {
      await r.users.insert(row);
      await r.users.linkIdentity({ issuer: v.issuer, subject: v.subject, user_id: row.id, created_at: row.created_at });
    });
    await this.auth.recordProvisioned(row, v.issuer);
    return row;
  }

  /** preferred_username, else e-mail, else the subject; suffixed when a local user has it. */
  private async freeUsername(v: VerifiedClaims): Promise<string> {
    const str = (k: string) => (typeof v.claims[k] === 'string' && v.claims[k] ? (v.claims[k] as string).slice(0, 100) : undefined);
    const base = str('preferred_username') ?? str('email') ?? `sso-${v.subject.slice(0, 32)}`;
    for (let i = 1; i < 100; i++) {
      const name = i === 1 ? base : `${base}-${i}`;
      if (!(await this.d.repos.users.findByUsername(name))) return name;
    }
    return `${base}-${randomToken(4)}`;
  }

  private fail(reason: ConstructorParameters<typeof OidcError>[0], ip: string): OidcError {
    this.d.log.info({ event: 'login_failed', method: 'oidc', reason, ip }, 'OIDC sign-in refused');
    return new OidcError(reason);
  }
}
