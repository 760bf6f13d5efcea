import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { CredentialsTable, ReposTable } from '../store/schema.js';

export type RepoRow = Selectable<ReposTable>;
export type CredentialRow = Selectable<CredentialsTable>;

/** Repos and the credentials they reference (secret columns are ciphertext). */
export class RepoRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<ReposTable>): Promise<void> {
    await this.db.insertInto('repos').values(row).execute();
  }
  findById(id: string): Promise<RepoRow | undefined> {
    return this.db.selectFrom('repos').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** Sets the patch's columns; an empty patch changes nothing (an UPDATE without columns is invalid SQL). */
  async update(id: string, patch: Updateable<ReposTable>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    await this.db.updateTable('repos').set(patch).where('id', '=', id).execute();
  }
  async list(limit: number, offset: number): Promise<{ rows: RepoRow[]; total: number }> {
    const rows = await this.db.selectFrom('repos').selectAll().orderBy('name').limit(limit).offset(offset).execute();
    const t = await this.db.selectFrom('repos').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows, total: Number(t.n) };
  }
  async deleteUnreferenced(id: string): Promise<void> {
    const used = await this.db.selectFrom('hosts').select('id').where('repo_id', '=', id).executeTakeFirst();
    if (used) return;
    const repo = await this.findById(id);
    await this.db.deleteFrom('repos').where('id', '=', id).execute();
    const creds = [repo?.credential_id, repo?.password_secret_id].filter((c): c is string => !!c);
    if (creds.length) await this.db.deleteFrom('credentials').where('id', 'in', creds).execute();
  }

  async insertCredential(row: Insertable<CredentialsTable>): Promise<void> {
    await this.db.insertInto('credentials').values(row).execute();
  }
  findCredential(id: string): Promise<CredentialRow | undefined> {
    return this.db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
  }
}
