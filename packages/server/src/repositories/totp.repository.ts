import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { TotpChallengesTable, UserTotpTable } from '../store/schema.js';

export type UserTotpRow = Selectable<UserTotpTable>;
export type TotpChallengeRow = Selectable<TotpChallengesTable>;

/** TOTP secrets, recovery codes, sign-in challenges and the second-factor policy (migration 0033). */
export class TotpRepository {
  constructor(private readonly db: Db) {}

  find(userId: string): Promise<UserTotpRow | undefined> {
    return this.db.selectFrom('user_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  /** Stores a new, unconfirmed secret (replacing a pending or confirmed one). */
  async putPending(userId: string, secretEnc: string, at: string): Promise<void> {
    await this.db.deleteFrom('user_totp').where('user_id', '=', userId).execute();
    await this.db.insertInto('user_totp').values({ user_id: userId, secret_enc: secretEnc, confirmed: 0, last_step: 0, created_at: at }).execute();
  }

  async confirm(userId: string): Promise<void> {
    await this.db.updateTable('user_totp').set({ confirmed: 1 }).where('user_id', '=', userId).execute();
  }

  /**
   * Records `step` as the last accepted one only if it is newer than the stored one: false when
   * the code's step was already used (a replay, or two requests racing with the same code).
   */
  async advanceStep(userId: string, step: number): Promise<boolean> {
    const r = await this.db.updateTable('user_totp').set({ last_step: step }).where('user_id', '=', userId).where('last_step', '<', step).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async remove(userId: string): Promise<void> {
    await this.db.deleteFrom('user_totp').where('user_id', '=', userId).execute();
    await this.db.deleteFrom('user_recovery_codes').where('user_id', '=', userId).execute();
  }

  async replaceRecoveryCodes(userId: string, hashes: string[], at: string): Promise<void> {
    await this.db.deleteFrom('user_recovery_codes').where('user_id', '=', userId).execute();
    if (hashes.length) await this.db.insertInto('user_recovery_codes').values(hashes.map((code_hash) => ({ user_id: userId, code_hash, created_at: at, used_at: null }))).execute();
  }

  /** Marks an unused recovery code used; false when it does not exist or was used already. */
  async useRecoveryCode(userId: string, hash: string, at: string): Promise<boolean> {
    const r = await this.db.updateTable('user_recovery_codes').set({ used_at: at }).where('user_id', '=', userId).where('code_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async unusedRecoveryCodes(userId: string): Promise<number> {
    const r = await this.db.selectFrom('user_recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async insertChallenge(row: TotpChallengeRow): Promise<void> {
    await this.db.insertInto('totp_challenges').values(row).execute();
  }

  findChallenge(id: string): Promise<TotpChallengeRow | undefined> {
    return this.db.selectFrom('totp_challenges').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Counts one attempt if fewer than `max` were made; false when the challenge is used up or gone. */
  async attemptChallenge(id: string, max: number): Promise<boolean> {
    const r = await this.db.updateTable('totp_challenges').set((eb) => ({ attempts: eb('attempts', '+', 1) })).where('id', '=', id).where('attempts', '<', max).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteChallenge(id: string): Promise<void> {
    await this.db.deleteFrom('totp_challenges').where('id', '=', id).execute();
  }

  async purgeChallenges(now: string): Promise<void> {
    await this.db.deleteFrom('totp_challenges').where('expires_at', '<=', now).execute();
  }

  /** The roles that must use a second factor ([] until an admin sets some). */
  async requiredRoles(): Promise<string[]> {
    const r = await this.db.selectFrom('auth_settings').select('totp_required_roles').where('id', '=', 1).executeTakeFirst();
    return r ? (JSON.parse(r.totp_required_roles) as string[]) : [];
  }

  async setRequiredRoles(roles: string[], at: string): Promise<void> {
    const v = JSON.stringify(roles);
    await this.db.insertInto('auth_settings').values({ id: 1, totp_required_roles: v, updated_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ totp_required_roles: v, updated_at: at })).execute();
  }
}
