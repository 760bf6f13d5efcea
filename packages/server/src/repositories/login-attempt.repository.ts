import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { LoginAttemptsTable } from '../store/schema.js';

export type LoginAttemptRow = Selectable<LoginAttemptsTable>;
export type LoginAttemptScope = LoginAttemptsTable['scope'];

/** Identifies one throttle row; the repository lower-cases the username. */
export interface LoginAttemptKey {
  scope: LoginAttemptScope;
  username: string;
  ip: string;
}

/**
 * Sign-in throttle rows (services/login-throttle.ts). Updates are compare-and-set on
 * `attempts`, so concurrent requests on any number of replicas each reserve a distinct attempt.
 */
export class LoginAttemptRepository {
  constructor(private readonly db: Db) {}

  private where(k: LoginAttemptKey) {
    return { scope: k.scope, username: k.username.toLowerCase(), ip: k.ip };
  }

  async find(k: LoginAttemptKey): Promise<LoginAttemptRow | undefined> {
    const w = this.where(k);
    return this.db.selectFrom('login_attempts').selectAll().where('scope', '=', w.scope).where('username', '=', w.username).where('ip', '=', w.ip).executeTakeFirst();
  }

  /** Creates the row with `attempts` 0 unless it exists (concurrent callers: one insert wins, none fails). */
  async ensure(k: LoginAttemptKey, at: string): Promise<void> {
    await this.db.insertInto('login_attempts').values({ ...this.where(k), attempts: 0, next_at: at, updated_at: at }).onConflict((oc) => oc.columns(['scope', 'username', 'ip']).doNothing()).execute();
  }

  /** Sets the row to `to` attempts only if it still holds `from`; false when another request got there first. */
  async advance(k: LoginAttemptKey, from: number, to: number, nextAt: string, at: string): Promise<boolean> {
    const w = this.where(k);
    const r = await this.db.updateTable('login_attempts').set({ attempts: to, next_at: nextAt, updated_at: at })
      .where('scope', '=', w.scope).where('username', '=', w.username).where('ip', '=', w.ip).where('attempts', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async clear(k: LoginAttemptKey): Promise<void> {
    const w = this.where(k);
    await this.db.deleteFrom('login_attempts').where('scope', '=', w.scope).where('username', '=', w.username).where('ip', '=', w.ip).execute();
  }

  /** Records (or refreshes) a row with no attempts, e.g. a `known` address after a success. */
  async touch(k: LoginAttemptKey, at: string): Promise<void> {
    await this.db.insertInto('login_attempts').values({ ...this.where(k), attempts: 0, next_at: at, updated_at: at })
      .onConflict((oc) => oc.columns(['scope', 'username', 'ip']).doUpdateSet({ attempts: 0, next_at: at, updated_at: at })).execute();
  }

  /** Deletes rows of `scope` not updated since `before`. */
  async purge(scope: LoginAttemptScope, before: string): Promise<void> {
    await this.db.deleteFrom('login_attempts').where('scope', '=', scope).where('updated_at', '<', before).execute();
  }
}
