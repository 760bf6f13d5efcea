import { randomUUID } from 'node:crypto';
import { API_TOKEN_PATTERN, API_TOKEN_PREFIX } from '@restic-manager/protocol';
import type { ApiTokenView, CreateApiTokenRequest, CreateApiTokenResponse, CreateServiceAccountRequest, Role } from '@restic-manager/protocol';
import { randomToken } from '../crypto/tokens.js';
import type { ApiTokenWithUser } from '../repositories/api-token.repository.js';
import type { UserRow } from '../repositories/user.repository.js';
import type { AuditService } from './audit.service.js';
import { sessionActor } from './auth.service.js';
import type { SessionInfo } from './auth.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import { RecentOnce } from './recent-once.js';
import { narrowScope, parseScope } from './scope-tags.js';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const lower = (a: Role, b: Role): Role => (RANK[a] <= RANK[b] ? a : b);
const DIGEST_PURPOSE = 'api-token';
const DAY_MS = 86_400_000;
/** Last-used times, read audit rows and refusal rows are written at most once per this window per key. */
export const TOKEN_USE_WINDOW_MS = 60_000;

/** Why a bearer was refused (401): the edge answers with `message`; nothing else is done. */
export type BearerRefusal = { code: 'unauthorized' | 'token_invalid' | 'token_expired'; message: string };

/** What one bearer request did, for its audit row. */
export interface TokenUse {
  method: string;
  path: string;
  status: number;
  ip: string;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * API tokens (issue 21, docs/server.md "API tokens"): created by a user for themselves or by an
 * admin for a service account; shown once; stored as a keyed hash (decision server-0010); a role
 * no higher than the creator's and the account's, capped again at each use by the account's
 * current role; optional host-tag scope; expiry; revocation; every use audited.
 */
export class ApiTokenService {
  private readonly touched: RecentOnce;
  private readonly readAudited: RecentOnce;
  private readonly refusals: RecentOnce;

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
  ) {
    this.touched = new RecentOnce(d.now, TOKEN_USE_WINDOW_MS);
    this.readAudited = new RecentOnce(d.now, TOKEN_USE_WINDOW_MS);
    this.refusals = new RecentOnce(d.now, TOKEN_USE_WINDOW_MS);
  }

  /**
   * Creates a token acting as `ownerId`: the actor's own account, or (admins only) a service
   * account. Refused when the role asked for is above the actor's or the account's role.
   */
  async create(actor: Actor, ownerId: string, input: CreateApiTokenRequest): Promise<CreateApiTokenResponse> {
    const me = requireUser(actor);
    const owner = await this.ownerFor(me, ownerId);
    if (owner.disabled_at) throw new DomainError('invalid_state', `${owner.username} is disabled`);
    const cap = lower(me.role, owner.role);
    const scope = this.scopeFor(me, owner, input.scope_tags ?? null);
    const role = input.role ?? cap;
    if (RANK[role] > RANK[cap]) {
      const why = `the token's role may be at most ${cap}`;
      throw new DomainError('forbidden', `${why} (${RANK[me.role] < RANK[owner.role] ? 'your role' : `the role of ${owner.username}`})`, { role: why });
    }
    const token = `${API_TOKEN_PREFIX}${randomToken(32)}`;
    const now = this.d.now();
    const row = {
      id: randomUUID(), user_id: owner.id, name: input.name, token_hash: this.d.box.digest(token, DIGEST_PURPOSE), prefix: token.slice(0, API_TOKEN_PREFIX.length + 6),
      role, scope_tags: scope ? JSON.stringify(scope) : null, created_by: me.id, created_at: iso(now),
      expires_at: iso(now + input.expires_in_days * DAY_MS), last_used_at: null, last_used_ip: null, revoked_at: null,
    };
    await this.d.inTx(async (r) => {
      await r.apiTokens.insert(row);
      await this.audit.record(actor, 'token.create', { kind: 'api_token', id: row.id }, { name: row.name, account: owner.username, role, scope_tags: scope, expires_at: row.expires_at }, r.audit);
    });
    return { token, api_token: this.view({ ...row, username: owner.username, user_role: owner.role, auth_method: owner.auth_method, disabled_at: owner.disabled_at, user_scope_tags: owner.scope_tags }) };
  }

  /** The tokens of `ownerId` (the actor's own, or any account's for an admin). */
  async list(actor: Actor, ownerId: string): Promise<ApiTokenView[]> {
    const me = requireUser(actor);
    if (ownerId !== me.id && me.role !== 'admin') throw new DomainError('forbidden', "only an admin may list another account's tokens");
    if (!(await this.d.repos.users.findById(ownerId))) throw notFound('user', ownerId);
    return (await this.d.repos.apiTokens.listForUser(ownerId)).map((t) => this.view(t));
  }

  /** Revokes a token of the actor's own, or any token for an admin. Revoking twice changes nothing. */
  async revoke(actor: Actor, tokenId: string): Promise<ApiTokenView> {
    const me = requireUser(actor);
    const t = await this.d.repos.apiTokens.findById(tokenId);
    if (!t || (t.user_id !== me.id && me.role !== 'admin')) throw notFound('token', tokenId);
    const at = iso(this.d.now());
    if (await this.d.repos.apiTokens.revoke(tokenId, at)) {
      await this.audit.record(actor, 'token.revoke', { kind: 'api_token', id: tokenId }, { name: t.name, account: t.username });
      return this.view({ ...t, revoked_at: at });
    }
    return this.view(t);
  }

  /** A service account: a user with no password that acts only through tokens an admin creates for it. */
  async createServiceAccount(actor: Actor, input: CreateServiceAccountRequest): Promise<UserRow> {
    const me = requireUser(actor);
    if (me.role !== 'admin') throw new DomainError('forbidden', 'requires the admin role');
    if (await this.d.repos.users.findByUsername(input.username)) throw new DomainError('conflict', `user ${input.username} already exists`);
    const row: UserRow = {
      id: randomUUID(), username: input.username, password_hash: '', role: input.role, created_at: iso(this.d.now()),
      last_login_at: null, disabled_at: null, auth_method: 'service', totp_enabled_at: null, scope_tags: null,
    };
    await this.d.inTx(async (r) => {
      await r.users.insert(row);
      await this.audit.record(actor, 'user.create', { kind: 'user', id: row.id }, { username: row.username, role: row.role, method: 'service' }, r.audit);
    });
    return row;
  }

  /**
   * Resolves an `Authorization` header value. Unknown, malformed, expired, revoked tokens and
   * tokens of disabled accounts are refused (the caller answers 401 and does nothing else); each
   * refusal is audited, at most once a minute per (token or address, reason).
   */
  async authenticate(header: string, ip: string): Promise<SessionInfo | BearerRefusal> {
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (!m?.[1]) return { code: 'unauthorized', message: 'the Authorization header must be "Bearer <token>"' };
    const secret = m[1];
    const t = API_TOKEN_PATTERN.test(secret) ? await this.d.repos.apiTokens.findByHash(this.d.box.digest(secret, DIGEST_PURPOSE)) : undefined;
    if (!t) {
      await this.refused(null, ip, 'unknown');
      return { code: 'token_invalid', message: 'unknown API token' };
    }
    const now = this.d.now();
    const reason = t.revoked_at ? 'revoked' : Date.parse(t.expires_at) <= now ? 'expired' : t.disabled_at ? 'account_disabled' : null;
    if (reason) {
      await this.refused(t, ip, reason);
      return reason === 'expired'
        ? { code: 'token_expired', message: `API token "${t.name}" expired at ${t.expires_at}` }
        : { code: 'token_invalid', message: reason === 'revoked' ? `API token "${t.name}" was revoked` : `the account of API token "${t.name}" is disabled` };
    }
    if (this.touched.first(`${t.id}|${ip}`)) await this.d.repos.apiTokens.touch(t.id, iso(now), ip);
    return {
      sessionId: '', csrfToken: '',
      user: { id: t.user_id, username: t.username, role: lower(t.role, t.user_role) },
      token: { id: t.id, name: t.name, scope: parseScope(t.scope_tags) },
      // The token's scope narrowed by its account's current one (an admin may narrow a user later).
      scope: narrowScope(parseScope(t.scope_tags), parseScope(t.user_scope_tags)),
    };
  }

  /** Audits one bearer request: every write (any status), reads at most once a minute per token. */
  async used(session: SessionInfo, use: TokenUse): Promise<void> {
    if (!session.token) return;
    if (READS.has(use.method) && !this.readAudited.first(session.token.id)) return;
    await this.audit.record(sessionActor(session), 'token.use', { kind: 'api_token', id: session.token.id }, { method: use.method, path: use.path.slice(0, 256), status: use.status, ip: use.ip });
  }

  /**
   * The scope a new token gets: what was asked for, never wider than the creator's or the
   * account's scope. A scoped creator who asks for no scope gets their own; asking for a tag
   * outside it is refused naming the tag.
   */
  private scopeFor(me: Extract<Actor, { kind: 'user' }>, owner: UserRow, asked: string[] | null): string[] | null {
    const limit = parseScope(owner.scope_tags);
    if (limit === null) return asked;
    if (asked === null) return limit;
    const outside = asked.filter((t) => !limit.includes(t));
    if (outside.length > 0) {
      const why = `a token may be limited only to tags within ${me.id === owner.id ? 'your' : `${owner.username}'s`} scope (${limit.join(', ')}); ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} outside it`;
      throw new DomainError('forbidden', `scope_tags: ${why}`, { scope_tags: why });
    }
    return [...new Set(asked)];
  }

  private async ownerFor(me: Extract<Actor, { kind: 'user' }>, ownerId: string): Promise<UserRow> {
    const owner = await this.d.repos.users.findById(ownerId);
    if (ownerId === me.id && owner) return owner;
    if (me.role !== 'admin') throw new DomainError('forbidden', 'you may create tokens only for yourself');
    if (!owner) throw notFound('user', ownerId);
    if (owner.auth_method !== 'service') throw new DomainError('forbidden', `${owner.username} is not a service account: people create their own tokens`);
    return owner;
  }

  private async refused(t: ApiTokenWithUser | null, ip: string, reason: string): Promise<void> {
    if (!this.refusals.first(`${t?.id ?? ip}|${reason}`)) return;
    const actor: Actor = t ? { kind: 'user', id: t.user_id, name: t.username, role: t.user_role, via: { kind: 'api_token', id: t.id, name: t.name } } : { kind: 'system' };
    await this.audit.record(actor, 'token.refused', t ? { kind: 'api_token', id: t.id } : null, { reason, ip });
  }

  view(t: ApiTokenWithUser): ApiTokenView {
    const state = t.revoked_at ? 'revoked' : Date.parse(t.expires_at) <= this.d.now() ? 'expired' : 'active';
    return {
      id: t.id, user_id: t.user_id, username: t.username, name: t.name, prefix: t.prefix, role: t.role,
      scope_tags: t.scope_tags ? (JSON.parse(t.scope_tags) as string[]) : null, created_at: t.created_at, created_by: t.created_by,
      expires_at: t.expires_at, last_used_at: t.last_used_at, last_used_ip: t.last_used_ip, revoked_at: t.revoked_at, state,
    };
  }
}

function requireUser(actor: Actor): Extract<Actor, { kind: 'user' }> {
  if (actor.kind !== 'user') throw new DomainError('forbidden', 'only a signed-in user manages API tokens');
  if (actor.via) throw new DomainError('forbidden', 'API tokens cannot manage API tokens or accounts: sign in to the web UI');
  return actor;
}
