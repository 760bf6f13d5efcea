import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { ApiTokensTable, UsersTable } from '../store/schema.js';

export type ApiTokenRow = Selectable<ApiTokensTable>;
/** A token with its account's name, role, sign-in method and disabled time (one query per bearer request). */
export type ApiTokenWithUser = ApiTokenRow & { username: string; user_role: UsersTable['role']; auth_method: Selectable<UsersTable>['auth_method']; disabled_at: string | null; user_scope_tags: string | null };

/** API tokens (migration 0032). */
export class ApiTokenRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<ApiTokensTable>): Promise<void> {
    await this.db.insertInto('api_tokens').values(row).execute();
  }

  private joined() {
    return this.db.selectFrom('api_tokens').innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('api_tokens').select(['users.username', 'users.role as user_role', 'users.auth_method', 'users.disabled_at', 'users.scope_tags as user_scope_tags']);
  }

  findByHash(hash: string): Promise<ApiTokenWithUser | undefined> {
    return this.joined().where('api_tokens.token_hash', '=', hash).executeTakeFirst();
  }

  findById(id: string): Promise<ApiTokenWithUser | undefined> {
    return this.joined().where('api_tokens.id', '=', id).executeTakeFirst();
  }

  /** The account's tokens, newest first (revoked and expired included). */
  listForUser(userId: string): Promise<ApiTokenWithUser[]> {
    return this.joined().where('api_tokens.user_id', '=', userId).orderBy('api_tokens.created_at', 'desc').orderBy('api_tokens.id').execute();
  }

  /** Sets `revoked_at` unless already set; false when it was. */
  async revoke(id: string, at: string): Promise<boolean> {
    const r = await this.db.updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async touch(id: string, at: string, ip: string): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: at, last_used_ip: ip }).where('id', '=', id).execute();
  }
}
