import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { SchedulesTable } from '../store/schema.js';

export type ScheduleRow = Selectable<SchedulesTable>;

export class ScheduleRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<SchedulesTable>): Promise<void> {
    await this.db.insertInto('schedules').values(row).execute();
  }
  findById(id: string): Promise<ScheduleRow | undefined> {
    return this.db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listForHost(hostId: string): Promise<ScheduleRow[]> {
    return this.db.selectFrom('schedules').selectAll().where('host_id', '=', hostId).orderBy('created_at').orderBy('id').execute();
  }
  async update(id: string, patch: Updateable<SchedulesTable>): Promise<void> {
    await this.db.updateTable('schedules').set(patch).where('id', '=', id).execute();
  }
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('schedules').where('id', '=', id).execute();
  }
}
