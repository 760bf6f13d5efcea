import type { Db } from '../store/db.js';

/** OIDC sign-in attempts (migration 0029), SQL only. */
export class OidcPendingRepository {
  constructor(private readonly db: Db) {}

  async add(id: string, sealed: string, createdAt: string): Promise<void> {
    await this.db.insertInto('oidc_pending').values({ id, sealed, created_at: createdAt }).execute();
  }

  /**
   * Takes an attempt out (single use): the sealed record, or undefined when there is none or a
   * concurrent callback took it first (only one DELETE removes the row).
   */
  async take(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('oidc_pending').select('sealed').where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const r = await this.db.deleteFrom('oidc_pending').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1 ? row.sealed : undefined;
  }

  /** Forgets attempts started before `before`, then the oldest beyond `max` rows. */
  async sweep(before: string, max: number): Promise<void> {
    await this.db.deleteFrom('oidc_pending').where('created_at', '<', before).execute();
    const extra = await this.db.selectFrom('oidc_pending').select('id').orderBy('created_at', 'desc').offset(max - 1).limit(100_000).execute();
    if (extra.length) await this.db.deleteFrom('oidc_pending').where('id', 'in', extra.map((e) => e.id)).execute();
  }
}
