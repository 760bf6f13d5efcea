import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { AlertSettingsTable, NotificationChannelsTable } from '../store/schema.js';

export type ChannelRow = Selectable<NotificationChannelsTable>;
export type AlertSettingsRow = Selectable<AlertSettingsTable>;

/** Notification channels and the alert thresholds row (SQL only). */
export class NotificationRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<NotificationChannelsTable>): Promise<void> {
    await this.db.insertInto('notification_channels').values(row).execute();
  }
  findById(id: string): Promise<ChannelRow | undefined> {
    return this.db.selectFrom('notification_channels').selectAll().where('id', '=', id).executeTakeFirst();
  }
  list(): Promise<ChannelRow[]> {
    return this.db.selectFrom('notification_channels').selectAll().orderBy('created_at', 'asc').orderBy('id').execute();
  }
  enabled(): Promise<ChannelRow[]> {
    return this.db.selectFrom('notification_channels').selectAll().where('enabled', '=', 1).execute();
  }
  async update(id: string, patch: Updateable<NotificationChannelsTable>): Promise<void> {
    await this.db.updateTable('notification_channels').set(patch).where('id', '=', id).execute();
  }
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('notification_channels').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  settings(): Promise<AlertSettingsRow | undefined> {
    return this.db.selectFrom('alert_settings').selectAll().where('id', '=', 1).executeTakeFirst();
  }
  async saveSettings(row: Omit<AlertSettingsRow, 'id'>): Promise<void> {
    await this.db.insertInto('alert_settings').values({ id: 1, ...row })
      .onConflict((oc) => oc.column('id').doUpdateSet({ ...row })).execute();
  }
}
