import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { UsersTable } from '../store/schema.js';
import { dialectOf } from '../store/dialect.js';

export type UserRow = Selectable<UsersTable>;

export class UserRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<UsersTable>): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }
  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }
  findByUsername(username: string): Promise<UserRow | undefined> {
    // SQLite's column is COLLATE NOCASE; PostgreSQL compares lower() (unique index of 0001).
    if (dialectOf(this.db) !== 'postgres') return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return this.db.selectFrom('users').selectAll().where((eb) => eb(eb.fn('lower', ['username']), '=', eb.fn('lower', [eb.val(username)]))).executeTakeFirst();
  }
  async count(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
  list(limit: number, offset: number): Promise<UserRow[]> {
    const q = this.db.selectFrom('users').selectAll();
    return (dialectOf(this.db) === 'postgres' ? q.orderBy((eb) => eb.fn('lower', ['username'])).orderBy('username') : q.orderBy('username')).limit(limit).offset(offset).execute();
  }
  /** The user linked to an OIDC (issuer, subject), if any. */
  findByIdentity(issuer: string, subject: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('user_identities').innerJoin('users', 'users.id', 'user_identities.user_id').selectAll('users')
      .where('user_identities.issuer', '=', issuer).where('user_identities.subject', '=', subject).executeTakeFirst();
  }
  async linkIdentity(row: { issuer: string; subject: string; user_id: string; created_at: string }): Promise<void> {
    await this.db.insertInto('user_identities').values(row).execute();
  }
  async setRole(id: string, role: UserRow['role']): Promise<void> {
    await this.db.updateTable('users').set({ role }).where('id', '=', id).execute();
  }
  /** Admins who can still sign in (not disabled). */
  async countActiveAdmins(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'admin').where('disabled_at', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  }
  async update(id: string, patch: Updateable<UsersTable>): Promise<void> {
    await this.db.updateTable('users').set(patch).where('id', '=', id).execute();
  }
  async setLastLogin(id: string, at: string): Promise<void> {
    await this.db.updateTable('users').set({ last_login_at: at }).where('id', '=', id).execute();
  }
}
