import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { CredentialsTable, HostRepositoriesTable, ReposTable } from '../store/schema.js';
import { readOneSnapshot } from '../store/dialect.js';

export type RepoRow = Selectable<ReposTable>;
export type CredentialRow = Selectable<CredentialsTable>;
export type HostRepositoryLink = Selectable<HostRepositoriesTable>;

/** Repos, the credentials they reference (secret columns are ciphertext) and their host links. */
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
  list(limit: number, offset: number): Promise<{ rows: RepoRow[]; total: number }> {
    return readOneSnapshot(this.db, async (db) => {
      const rows = await db.selectFrom('repos').selectAll().orderBy('name').orderBy('id').limit(limit).offset(offset).execute();
      const t = await db.selectFrom('repos').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { rows, total: Number(t.n) };
    });
  }
  /** Deletes the repo row and its credential rows, unless a host (primary or link) or a schedule still uses it. */
  async deleteUnreferenced(id: string): Promise<void> {
    const used = await this.db.selectFrom('hosts').select('id').where('repo_id', '=', id).executeTakeFirst();
    if (used) return;
    if ((await this.linksOfRepo(id)).length > 0) return;
    if (await this.db.selectFrom('schedules').select('id').where('repository_id', '=', id).executeTakeFirst()) return;
    if ((await this.copyPolicyCount(id)) > 0) return;
    await this.delete(id);
  }
  /** Deletes the repo row and its credential rows (the caller checked nothing uses it). */
  async delete(id: string): Promise<void> {
    const repo = await this.findById(id);
    await this.db.deleteFrom('host_repositories').where('repo_id', '=', id).execute();
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
  async deleteCredential(id: string): Promise<void> {
    await this.db.deleteFrom('credentials').where('id', '=', id).execute();
  }

  /** A host's links, the primary first. */
  linksOfHost(hostId: string): Promise<HostRepositoryLink[]> {
    return this.db.selectFrom('host_repositories').selectAll().where('host_id', '=', hostId).orderBy('is_primary', 'desc').orderBy('created_at').orderBy('repo_id').execute();
  }
  linksOfRepo(repoId: string): Promise<HostRepositoryLink[]> {
    return this.db.selectFrom('host_repositories').selectAll().where('repo_id', '=', repoId).orderBy('host_id').execute();
  }
  /** Links of these repositories (for list pages). */
  linksOfRepos(repoIds: readonly string[]): Promise<HostRepositoryLink[]> {
    if (repoIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('host_repositories').selectAll().where('repo_id', 'in', [...repoIds]).orderBy('host_id').execute();
  }
  /** Links `repoId` to the host (kept when it exists); `primary` makes it the host's only primary link. */
  async link(hostId: string, repoId: string, primary: boolean, now: string): Promise<void> {
    const cur = await this.db.selectFrom('host_repositories').select('is_primary').where('host_id', '=', hostId).where('repo_id', '=', repoId).executeTakeFirst();
    if (primary) await this.db.updateTable('host_repositories').set({ is_primary: 0 }).where('host_id', '=', hostId).execute();
    if (cur) {
      if (primary) await this.db.updateTable('host_repositories').set({ is_primary: 1 }).where('host_id', '=', hostId).where('repo_id', '=', repoId).execute();
    } else {
      await this.db.insertInto('host_repositories').values({ host_id: hostId, repo_id: repoId, is_primary: primary ? 1 : 0, created_at: now }).execute();
    }
  }
  async unlink(hostId: string, repoId: string): Promise<void> {
    await this.db.deleteFrom('host_repositories').where('host_id', '=', hostId).where('repo_id', '=', repoId).execute();
  }
  /** How many copy policies copy from or into the repository; with `hostId`, how many copy from it for that host alone. */
  async copyPolicyCount(repoId: string, hostId?: string): Promise<number> {
    let q = this.db.selectFrom('copy_policies').select((eb) => eb.fn.countAll<number>().as('n'));
    q = hostId
      ? q.where('source_repository_id', '=', repoId).where('host_id', '=', hostId)
      : q.where((eb) => eb.or([eb('source_repository_id', '=', repoId), eb('target_repository_id', '=', repoId)]));
    return Number((await q.executeTakeFirstOrThrow()).n);
  }
  /** How many schedules target the repository explicitly. */
  async scheduleCount(repoId: string, hostId?: string): Promise<number> {
    let q = this.db.selectFrom('schedules').select((eb) => eb.fn.countAll<number>().as('n')).where('repository_id', '=', repoId);
    if (hostId) q = q.where('host_id', '=', hostId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }
}
