import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { RECOVERY_CODE_COUNT, TOTP_DIGITS, TOTP_PERIOD_S } from '@restic-manager/protocol';
import type { AuthSettingsView, RecoveryCodesView, Role, TotpLoginRequest, TotpSetupView, TotpStatusView } from '@restic-manager/protocol';
import { hashToken } from '../crypto/tokens.js';
import type { UserRow } from '../repositories/user.repository.js';
import type { AuditService } from './audit.service.js';
import type { AuthService, SessionInfo } from './auth.service.js';
import { CHALLENGE_ATTEMPTS, userView } from './auth.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { TotpPolicy } from './totp-policy.js';

const ISSUER = 'restic-manager';
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const aad = (userId: string) => `totp:${userId}`;

/**
 * TOTP second factor for password sign-in (RFC 6238 through the `otpauth` library; issue 21,
 * docs/server.md "Two-factor sign-in"): enrolment (a sealed pending secret, confirmed by a code),
 * recovery codes (keyed hashes, single use), the sign-in challenge, a per-role requirement, and
 * an admin reset. A code is accepted for the current step ±1 (clock drift) and only if its step
 * is later than the last accepted one, so a code cannot be used twice.
 */
export class TotpService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly auth: AuthService,
    private readonly policy: TotpPolicy,
  ) {}

  async status(userId: string): Promise<TotpStatusView> {
    const user = await this.user(userId);
    return { available: user.auth_method === 'password', enabled: !!user.totp_enabled_at, required: await this.policy.required(user.role), recovery_codes_left: user.totp_enabled_at ? await this.d.repos.totp.unusedRecoveryCodes(userId) : 0 };
  }

  /** Enrolment step 1: a new secret, kept sealed and pending until `enable` confirms a code from it. */
  async setup(actor: Actor): Promise<TotpSetupView> {
    const user = await this.user(this.self(actor));
    if (user.auth_method !== 'password') throw new DomainError('invalid_state', 'only accounts that sign in with a password use a second factor here (single sign-on accounts use their provider\'s)');
    if (user.totp_enabled_at) throw new DomainError('conflict', 'two-factor sign-in is already on: turn it off first to enrol a new device');
    const secret = new Secret({ size: 20 });
    await this.d.repos.totp.putPending(user.id, this.d.box.seal(secret.base32, aad(user.id)), iso(this.d.now()));
    return { secret: secret.base32, otpauth_uri: this.totp(secret, user.username).toString(), digits: TOTP_DIGITS, period: TOTP_PERIOD_S, algorithm: 'SHA1' };
  }

  /** Enrolment step 2: a code from the pending secret turns the second factor on; the recovery codes are returned once. */
  async enable(actor: Actor, code: string): Promise<RecoveryCodesView> {
    const user = await this.user(this.self(actor));
    const row = await this.d.repos.totp.find(user.id);
    if (!row || row.confirmed) throw new DomainError('invalid_state', user.totp_enabled_at ? 'two-factor sign-in is already on' : 'start the set-up first (POST /api/auth/totp/setup)');
    if (!(await this.check(user, code))) throw new DomainError('validation_failed', 'code: that code is wrong or expired; check the clock of the device', { code: 'wrong or expired code' });
    const codes = recoveryCodes();
    const at = iso(this.d.now());
    await this.d.inTx(async (r) => {
      await r.totp.confirm(user.id);
      await r.users.update(user.id, { totp_enabled_at: at });
      await r.totp.replaceRecoveryCodes(user.id, codes.map((c) => this.codeHash(user.id, c)), at);
      await this.audit.record(actor, 'totp.enable', { kind: 'user', id: user.id }, { recovery_codes: codes.length }, r.audit);
    });
    return { recovery_codes: codes };
  }

  /** Turns the second factor off with a current code; refused while the user's role requires one. */
  async disable(actor: Actor, code: string): Promise<void> {
    const user = await this.user(this.self(actor));
    if (!user.totp_enabled_at) throw new DomainError('invalid_state', 'two-factor sign-in is not on');
    if (await this.policy.required(user.role)) throw new DomainError('forbidden', `the ${user.role} role must sign in with a second factor; an admin can reset it if the device is lost`);
    if (!(await this.check(user, code))) throw new DomainError('validation_failed', 'code: that code is wrong or expired', { code: 'wrong or expired code' });
    await this.remove(actor, user, 'totp.disable');
  }

  /** New recovery codes (the old ones stop working), with a current code. */
  async regenerateRecoveryCodes(actor: Actor, code: string): Promise<RecoveryCodesView> {
    const user = await this.user(this.self(actor));
    if (!user.totp_enabled_at) throw new DomainError('invalid_state', 'two-factor sign-in is not on');
    if (!(await this.check(user, code))) throw new DomainError('validation_failed', 'code: that code is wrong or expired', { code: 'wrong or expired code' });
    const codes = recoveryCodes();
    await this.d.repos.totp.replaceRecoveryCodes(user.id, codes.map((c) => this.codeHash(user.id, c)), iso(this.d.now()));
    await this.audit.record(actor, 'totp.recovery_codes', { kind: 'user', id: user.id }, { recovery_codes: codes.length });
    return { recovery_codes: codes };
  }

  /** Admin: removes a user's second factor (a lost device) and ends their sessions; they enrol again at the next sign-in if their role requires it. */
  async reset(actor: Actor, userId: string): Promise<void> {
    const user = await this.user(userId);
    if (!user.totp_enabled_at) throw new DomainError('invalid_state', `${user.username} has no second factor`);
    await this.remove(actor, user, 'totp.reset');
  }

  /**
   * Sign-in step 2: the challenge from `AuthService.login` and a code (or a recovery code) open
   * the session. A challenge works from the address that got it, for 5 minutes and 5 attempts;
   * every failure is audited. Wrong, reused or expired codes are `invalid_credentials`.
   */
  async completeLogin(input: TotpLoginRequest, ip: string, ua: string | null): Promise<{ token: string; session: SessionInfo; user: ReturnType<typeof userView> }> {
    const id = hashToken(input.challenge);
    const ch = await this.d.repos.totp.findChallenge(id);
    const expired = 'this sign-in has expired or used up its attempts: enter your password again';
    if (!ch || Date.parse(ch.expires_at) <= this.d.now() || ch.ip !== ip) throw new DomainError('token_invalid', expired);
    if (!(await this.d.repos.totp.attemptChallenge(id, CHALLENGE_ATTEMPTS))) {
      await this.d.repos.totp.deleteChallenge(id);
      throw new DomainError('token_invalid', expired);
    }
    const user = await this.d.repos.users.findById(ch.user_id);
    if (!user || user.disabled_at || !user.totp_enabled_at) throw new DomainError('token_invalid', expired);
    const at = iso(this.d.now());
    const ok = input.code !== undefined ? await this.check(user, input.code) : await this.d.repos.totp.useRecoveryCode(user.id, this.codeHash(user.id, input.recovery_code ?? ''), at);
    const actor: Actor = { kind: 'user', id: user.id, name: user.username, role: user.role };
    if (!ok) {
      await this.audit.record(actor, 'auth.second_factor_failed', { kind: 'user', id: user.id }, { ip, method: input.code !== undefined ? 'totp' : 'recovery_code' });
      throw new DomainError('invalid_credentials', input.code !== undefined ? 'that code is wrong, expired or was already used' : 'that recovery code is wrong or was already used');
    }
    await this.d.repos.totp.deleteChallenge(id);
    await this.auth.throttle.succeed(user.username, ip);
    if (input.recovery_code !== undefined) await this.audit.record(actor, 'auth.recovery_code_used', { kind: 'user', id: user.id }, { ip, left: await this.d.repos.totp.unusedRecoveryCodes(user.id) });
    const { token, session } = await this.auth.openSessionFor(user, ip, ua, 'password');
    return { token, session, user: userView({ ...user, last_login_at: at }) };
  }

  async settings(): Promise<AuthSettingsView> {
    return { totp_required_roles: await this.policy.roles() };
  }

  async setSettings(actor: Actor, roles: Role[]): Promise<AuthSettingsView> {
    const unique = [...new Set(roles)];
    const before = await this.policy.roles();
    await this.d.repos.totp.setRequiredRoles(unique, iso(this.d.now()));
    this.policy.invalidate();
    await this.audit.record(actor, 'auth.settings', null, { totp_required_roles: { from: before, to: unique } });
    return { totp_required_roles: unique };
  }

  /** Whether `code` is right for the user's (pending or confirmed) secret, for a step never accepted before; records the step. */
  private async check(user: UserRow, code: string): Promise<boolean> {
    const row = await this.d.repos.totp.find(user.id);
    if (!row || !/^\d{6}$/.test(code)) return false;
    const secret = Secret.fromBase32(this.d.box.open(row.secret_enc, aad(user.id)));
    const now = this.d.now();
    const delta = this.totp(secret, user.username).validate({ token: code, timestamp: now, window: 1 });
    if (delta === null) return false;
    const step = Math.floor(now / 1000 / TOTP_PERIOD_S) + delta;
    return this.d.repos.totp.advanceStep(user.id, step);
  }

  private async remove(actor: Actor, user: UserRow, action: 'totp.disable' | 'totp.reset'): Promise<void> {
    await this.d.inTx(async (r) => {
      await r.totp.remove(user.id);
      await r.users.update(user.id, { totp_enabled_at: null });
      if (action === 'totp.reset') await r.sessions.deleteForUser(user.id);
      await this.audit.record(actor, action, { kind: 'user', id: user.id }, { username: user.username }, r.audit);
    });
  }

  private totp(secret: Secret, username: string): TOTP {
    return new TOTP({ issuer: ISSUER, label: username, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S, secret });
  }

  private codeHash(userId: string, code: string): string {
    return this.d.box.digest(`${userId}:${code}`, 'recovery-code');
  }

  private self(actor: Actor): string {
    if (actor.kind !== 'user' || actor.via) throw new DomainError('forbidden', 'sign in to the web UI to change your second factor');
    return actor.id;
  }

  private async user(id: string): Promise<UserRow> {
    const u = await this.d.repos.users.findById(id);
    if (!u) throw notFound('user', id);
    return u;
  }
}

/** RECOVERY_CODE_COUNT codes `xxxxx-xxxxx` (50 random bits each). */
function recoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const b = randomBytes(10);
    const s = [...b].map((x) => BASE32[x & 31]).join('');
    return `${s.slice(0, 5)}-${s.slice(5, 10)}`;
  });
}
