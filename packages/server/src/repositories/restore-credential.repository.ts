import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { RestoreCredentialsTable } from '../store/schema.js';

export type RestoreCredentialRow = Selectable<RestoreCredentialsTable>;

/** Temporary credentials of cross-host restore jobs (migration 0008). SQL only. */
export class RestoreCredentialRepository {
  constructor(private readonly db: Db) {}

  async insert(row: RestoreCredentialRow): Promise<void> {
    await this.db.insertInto('restore_credentials').values(row).execute();
  }

  findByJob(jobId: string): Promise<RestoreCredentialRow | undefined> {
    return this.db.selectFrom('restore_credentials').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  }

  async update(jobId: string, patch: Partial<Omit<RestoreCredentialRow, 'job_id'>>): Promise<void> {
    await this.db.updateTable('restore_credentials').set(patch).where('job_id', '=', jobId).execute();
  }

  /** Temporary-key credentials whose source is one of these hosts (the keys the server itself adds and removes). */
  temporaryKeysOf(sourceHostIds: readonly string[]): Promise<Pick<RestoreCredentialRow, 'key_id' | 'revoked_at'>[]> {
    if (sourceHostIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('restore_credentials').select(['key_id', 'revoked_at']).where('mode', '=', 'temporary_key')
      .where('source_host_id', 'in', [...sourceHostIds]).execute();
  }

  /** Not yet revoked credentials whose job has ended, of one source host (retried when it reconnects). */
  pendingRevocations(sourceHostId: string): Promise<RestoreCredentialRow[]> {
    return this.db.selectFrom('restore_credentials').innerJoin('jobs', 'jobs.id', 'restore_credentials.job_id')
      .selectAll('restore_credentials').where('restore_credentials.source_host_id', '=', sourceHostId)
      .where('restore_credentials.revoked_at', 'is', null).where('jobs.status', 'in', ['succeeded', 'failed', 'cancelled']).execute();
  }
}
