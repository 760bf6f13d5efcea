import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { QuarantinedReportsTable } from '../store/schema.js';

export type QuarantinedReportRow = Selectable<QuarantinedReportsTable>;

/** Agent reports set aside as unstorable (services/report-quarantine.service.ts). */
export class QuarantineRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<QuarantinedReportsTable>): Promise<void> {
    await this.db.insertInto('quarantined_reports').values(row).execute();
  }
  listForHost(hostId: string, limit: number, offset: number): Promise<QuarantinedReportRow[]> {
    return this.db.selectFrom('quarantined_reports').selectAll().where('host_id', '=', hostId).orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset).execute();
  }
  async countForHost(hostId: string): Promise<number> {
    const r = await this.db.selectFrom('quarantined_reports').select((eb) => eb.fn.countAll<number>().as('n')).where('host_id', '=', hostId).executeTakeFirstOrThrow();
    return Number(r.n);
  }
  /** Removes every quarantined report of the host; returns how many. */
  async deleteForHost(hostId: string): Promise<number> {
    const r = await this.db.deleteFrom('quarantined_reports').where('host_id', '=', hostId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
