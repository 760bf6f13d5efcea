import { randomUUID } from 'node:crypto';
import type { Role } from '@restic-manager/protocol';
import { dummyHash, hashPassword, hashToken, randomToken, verifyPassword } from '../crypto/tokens.js';
import type { UserRow } from '../repositories/user.repository.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, TooManyAttemptsError, notFound } from './errors.js';
import type { AuditService } from './audit.service.js';
import { LoginThrottle } from './login-throttle.js';
import { passwordWeakness } from './password-policy.js';
import { parseScope } from './scope-tags.js';
import type { TotpPolicy } from './totp-policy.js';

export interface SessionInfo {
  sessionId: string;
  csrfToken: string;
  user: { id: string; username: string; role: Role };
  /**
   * Set when the request authenticated with an API token (`Authorization: Bearer`), not a
   * session cookie: `sessionId` and `csrfToken` are then empty, `user.role` is the token's
   * effective role, `scope` its host tags (null = every host). See api-token.service.ts.
   */
  token?: { id: string; name: string; scope: string[] | null };
  /**
   * The effective host-tag scope of the request (issue 21): the user's scope, narrowed by the
   * token's for a bearer request; null or absent = every host. Checked by services/host-scope.ts.
   */
  scope?: string[] | null;
  /**
   * The user's role must sign in with a second factor and they have none yet: only the routes
   * that set one up (and sign-out) are open until they do (http/totp-guard.ts).
   */
  totpSetupRequired?: true;
}

/** A password sign-in whose account has a second factor: the code is asked for next (totp.service.ts). */
export interface PendingSecondFactor {
  challenge: string;
  expires_at: string;
}

/** How long a sign-in waits for its second factor, and how many codes it may try. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const CHALLENGE_ATTEMPTS = 5;

export interface AuthOptions {
  idleMs: number;
  absoluteMs: number;
  /** False when RM_OIDC_ALLOW_PASSWORD_LOGIN=false: every password sign-in is refused. */
  passwordLogin?: boolean;
}

/** Users, passwords, sessions (spec §7.1). No HTTP here: cookies are the edge's job. */
export class AuthService {
  readonly throttle: LoginThrottle;

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly opts: AuthOptions,
    private readonly totpPolicy: TotpPolicy,
  ) {
    this.throttle = new LoginThrottle(d.repos.loginAttempts, d.now);
  }

  /**
   * Verifies credentials and opens a fresh session (a new id every login = rotation).
   * Unknown user and wrong password give the same `invalid_credentials` error and timing.
   * The attempt is reserved with the throttle before the password is checked, so parallel
   * guesses cannot outrun it; a refused one throws TooManyAttemptsError (429 + Retry-After).
   * An account with a second factor gets no session here but a challenge for its code; the
   * throttle slot stays taken until the code is right, so every challenge costs one attempt.
   */
  async login(username: string, password: string, ip: string, ua: string | null): Promise<{ token: string; session: SessionInfo; user: ReturnType<typeof userView> } | PendingSecondFactor> {
    if (this.opts.passwordLogin === false) throw new DomainError('forbidden', 'password sign-in is disabled on this server; use single sign-on');
    const slot = await this.throttle.reserve(username, ip);
    if (!slot.ok) throw new TooManyAttemptsError(slot.retryAfterMs);
    const user = await this.d.repos.users.findByUsername(username);
    const ok = await verifyPassword(user?.password_hash ?? (await dummyHash()), password);
    if (!user || !ok || user.disabled_at || user.auth_method !== 'password') {
      this.d.log.info({ event: 'login_failed', ip }, 'login failed');
      throw new DomainError('invalid_credentials', 'invalid username or password');
    }
    if (user.totp_enabled_at) {
      const challenge = randomToken();
      const expires = iso(this.d.now() + CHALLENGE_TTL_MS);
      await this.d.repos.totp.insertChallenge({ id: hashToken(challenge), user_id: user.id, ip, expires_at: expires, attempts: 0 });
      return { challenge, expires_at: expires };
    }
    await this.throttle.succeed(username, ip);
    const { token, session, at } = await this.openSessionFor(user, ip, ua, 'password');
    return { token, session, user: userView({ ...user, last_login_at: at }) };
  }

  /** A verified sign-in (password or OIDC): last-login time, a fresh session, `auth.login` audit. */
  async openSessionFor(user: UserRow, ip: string, ua: string | null, method: 'password' | 'oidc'): Promise<{ token: string; session: SessionInfo; at: string }> {
    const at = iso(this.d.now());
    await this.d.repos.users.setLastLogin(user.id, at);
    const { token, session } = await this.openSession(user, ip, ua);
    await this.audit.record(actorOf(user), 'auth.login', { kind: 'user', id: user.id }, { ip, method });
    return { token, session, at };
  }

  /** Applies a role decided elsewhere (the OIDC groups claim): ends the user's sessions, audits. */
  async applyRole(actor: Actor, user: UserRow, role: Role, via: 'oidc'): Promise<void> {
    await this.d.repos.users.setRole(user.id, role);
    // An admin is never scoped: a provider's groups that make a scoped user admin clear the scope.
    if (role === 'admin' && user.scope_tags) {
      await this.d.repos.users.update(user.id, { scope_tags: null });
      await this.audit.record(actor, 'user.scope', { kind: 'user', id: user.id }, { username: user.username, from: parseScope(user.scope_tags), to: null, via });
    }
    await this.d.repos.sessions.deleteForUser(user.id);
    await this.audit.record(actor, 'user.role', { kind: 'user', id: user.id }, { from: user.role, to: role, via });
  }

  /** Audits a user created at their first OIDC sign-in. */
  async recordProvisioned(user: UserRow, issuer: string): Promise<void> {
    await this.audit.record({ kind: 'system' }, 'user.create', { kind: 'user', id: user.id }, { username: user.username, role: user.role, method: 'oidc', issuer });
  }

  private async openSession(user: UserRow, ip: string | null, ua: string | null): Promise<{ token: string; session: SessionInfo }> {
    const token = randomToken();
    const now = this.d.now();
    const csrf = randomToken();
    await this.d.repos.sessions.insert({
      id: hashToken(token),
      user_id: user.id,
      csrf_token: csrf,
      created_at: iso(now),
      last_seen_at: iso(now),
      expires_at: iso(now + this.opts.absoluteMs),
      ip,
      ua: ua?.slice(0, 512) ?? null,
    });
    return { token, session: { sessionId: hashToken(token), csrfToken: csrf, user: { id: user.id, username: user.username, role: user.role }, scope: parseScope(user.scope_tags) } };
  }

  /** Resolves a cookie value; null when unknown, idle too long, or past its absolute expiry. */
  async resolve(token: string): Promise<SessionInfo | null> {
    const id = hashToken(token);
    const s = await this.d.repos.sessions.find(id);
    if (!s) return null;
    const now = this.d.now();
    if (Date.parse(s.expires_at) <= now || Date.parse(s.last_seen_at) + this.opts.idleMs <= now) {
      await this.d.repos.sessions.delete(id);
      return null;
    }
    const user = await this.d.repos.users.findById(s.user_id);
    if (!user || user.disabled_at) return null;
    if (now - Date.parse(s.last_seen_at) > 15_000) await this.d.repos.sessions.touch(id, iso(now));
    const setup = user.auth_method === 'password' && !user.totp_enabled_at && (await this.totpPolicy.required(user.role));
    return { sessionId: id, csrfToken: s.csrf_token, user: { id: user.id, username: user.username, role: user.role }, scope: parseScope(user.scope_tags), ...(setup ? { totpSetupRequired: true as const } : {}) };
  }

  async logout(session: SessionInfo): Promise<void> {
    await this.d.repos.sessions.delete(session.sessionId);
    await this.audit.record(sessionActor(session), 'auth.logout', { kind: 'user', id: session.user.id });
  }

  async createUser(actor: Actor, input: { username: string; password: string; role: Role; scope_tags?: string[] | null | undefined }): Promise<UserRow> {
    const scope = input.scope_tags ?? null;
    if (scope && input.role === 'admin') throw adminScopeError();
    if (await this.d.repos.users.findByUsername(input.username)) throw new DomainError('conflict', `user ${input.username} already exists`);
    await requireStrongPassword(input.password, input.username);
    const row: UserRow = {
      id: randomUUID(),
      username: input.username,
      password_hash: await hashPassword(input.password),
      role: input.role,
      created_at: iso(this.d.now()),
      last_login_at: null,
      disabled_at: null,
      auth_method: 'password',
      totp_enabled_at: null,
      scope_tags: scope ? JSON.stringify(scope) : null,
    };
    await this.d.repos.users.insert(row);
    await this.audit.record(actor, 'user.create', { kind: 'user', id: row.id }, { username: row.username, role: row.role, password_changed: true, ...(scope ? { scope_tags: scope } : {}) });
    return row;
  }

  /**
   * Changes a role and ends the user's sessions, so the next login gets a fresh one. The same role
   * again changes nothing; the last admin who can sign in is never demoted (the server would be
   * left without anyone to administer it).
   */
  async setRole(actor: Actor, userId: string, role: Role): Promise<UserRow> {
    const user = await this.d.repos.users.findById(userId);
    if (!user) throw notFound('user', userId);
    if (user.role === role) return user;
    if (role === 'admin' && user.scope_tags) throw adminScopeError(`${user.username} is limited to hosts tagged ${parseScope(user.scope_tags)?.join(', ') ?? ''}: clear the scope first`);
    await this.d.inTx(async (r) => {
      if (user.role === 'admin' && !user.disabled_at && (await r.users.countActiveAdmins()) <= 1) {
        throw new DomainError('invalid_state', `${user.username} is the last admin: make another user admin first`, { role: 'the last admin cannot be demoted' });
      }
      await r.users.update(userId, { role });
      await r.sessions.deleteForUser(userId);
      await this.audit.record(actor, 'user.role', { kind: 'user', id: userId }, { from: user.role, to: role }, r.audit);
    });
    return { ...user, role };
  }

  /**
   * Sets (or, with null, clears) the host tags a user is limited to. Admin accounts cannot be
   * scoped. Takes effect at the user's next request (sessions and tokens read it each time);
   * tokens the user made are narrowed by it too (services/host-scope.ts narrowScope).
   */
  async setScope(actor: Actor, userId: string, scope: string[] | null): Promise<UserRow> {
    if (actor.kind === 'user' && actor.role !== 'admin') throw new DomainError('forbidden', "only an admin may set a user's scope");
    const user = await this.d.repos.users.findById(userId);
    if (!user) throw notFound('user', userId);
    if (scope && user.role === 'admin') throw adminScopeError();
    const json = scope ? JSON.stringify([...new Set(scope)]) : null;
    if (json === user.scope_tags) return user;
    await this.d.inTx(async (r) => {
      await r.users.update(userId, { scope_tags: json });
      await this.audit.record(actor, 'user.scope', { kind: 'user', id: userId }, { username: user.username, from: parseScope(user.scope_tags), to: parseScope(json) }, r.audit);
    });
    return { ...user, scope_tags: json };
  }

  /** Sets a new password (admin reset) and ends the user's sessions. */
  async resetPassword(actor: Actor, userId: string, password: string): Promise<UserRow> {
    const user = await this.d.repos.users.findById(userId);
    if (!user) throw notFound('user', userId);
    await requireStrongPassword(password, user.username);
    const hash = await hashPassword(password);
    await this.d.inTx(async (r) => {
      await r.users.update(userId, { password_hash: hash });
      await r.sessions.deleteForUser(userId);
      await this.audit.record(actor, 'user.password_reset', { kind: 'user', id: userId }, { password_changed: true }, r.audit);
    });
    return user;
  }

  /** Disables (no sign-in, sessions ended) or re-enables an account. Admins cannot disable themselves. */
  async setDisabled(actor: Actor, userId: string, disabled: boolean): Promise<UserRow> {
    const user = await this.d.repos.users.findById(userId);
    if (!user) throw notFound('user', userId);
    if (disabled && actor.kind === 'user' && actor.id === userId) throw new DomainError('invalid_state', 'you cannot disable your own account');
    const at = disabled ? iso(this.d.now()) : null;
    await this.d.inTx(async (r) => {
      await r.users.update(userId, { disabled_at: at });
      if (disabled) await r.sessions.deleteForUser(userId);
      await this.audit.record(actor, disabled ? 'user.disable' : 'user.enable', { kind: 'user', id: userId }, { username: user.username }, r.audit);
    });
    return { ...user, disabled_at: at };
  }

  async listUsers(limit: number, offset: number) {
    const rows = await this.d.repos.users.list(limit, offset);
    return { items: rows.map(userView), total: await this.d.repos.users.count(), limit, offset };
  }

  /**
   * First run: creates `admin` when there are no users. Returns the password only when it was
   * generated here (the caller prints it once); null when nothing was created or it was supplied.
   */
  async bootstrapAdmin(password: string | null): Promise<{ created: boolean; generated: string | null }> {
    if ((await this.d.repos.users.count()) > 0) return { created: false, generated: null };
    const generated = password ? null : randomToken(18);
    try {
      await this.createUser({ kind: 'system' }, { username: 'admin', password: password ?? generated ?? '', role: 'admin' });
    } catch (e) {
      // Several replicas starting at once on one database (docs/scale-out.md): another one created it first.
      if ((await this.d.repos.users.count()) > 0) return { created: false, generated: null };
      throw e;
    }
    return { created: true, generated };
  }

  async purgeExpired(): Promise<void> {
    const now = this.d.now();
    await this.d.repos.sessions.deleteExpired(iso(now), iso(now - this.opts.idleMs));
    await this.d.repos.totp.purgeChallenges(iso(now));
    await this.throttle.purge();
  }
}

/** The password rule (services/password-policy.ts) as a `validation_failed` error naming the `password` field. */
async function requireStrongPassword(password: string, username: string): Promise<void> {
  const why = await passwordWeakness(password, [username]);
  if (why) throw new DomainError('validation_failed', `password: ${why}`, { password: why });
}

export const userView = (u: UserRow) => ({ id: u.id, username: u.username, role: u.role, created_at: u.created_at, last_login_at: u.last_login_at, auth_method: u.auth_method, scope_tags: parseScope(u.scope_tags) });

/** An admin binding is never scoped: an admin manages users, tokens and settings fleet-wide. */
function adminScopeError(message = 'an admin cannot be limited to host tags (admins manage users, repositories and settings for the whole fleet): give a scoped account the operator or viewer role'): DomainError {
  return new DomainError('validation_failed', `scope_tags: ${message}`, { scope_tags: message });
}
const actorOf = (u: UserRow): Actor => ({ kind: 'user', id: u.id, name: u.username, role: u.role });
export const sessionActor = (s: SessionInfo): Actor => ({
  kind: 'user', id: s.user.id, name: s.user.username, role: s.user.role,
  ...(s.token ? { via: { kind: 'api_token' as const, id: s.token.id, name: s.token.name } } : {}),
});
