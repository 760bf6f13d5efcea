import type { Selectable, Updateable } from 'kysely';
import type { Db } from '../store/db.js';
import type { ControlPlaneBackupTable } from '../store/schema.js';

export type ControlPlaneBackupRow = Selectable<ControlPlaneBackupTable>;

/** Fields of the last run (written when a run ends). */
export type ControlPlaneBackupRunFields = Pick<Updateable<ControlPlaneBackupTable>, 'last_started_at' | 'last_finished_at' | 'last_status' | 'last_trigger' | 'last_snapshot_id' | 'last_error' | 'last_duration_ms' | 'last_success_at'>;

/** The one row (id 1) of the control plane's backup schedule (migration 0035). */
export class ControlPlaneBackupRepository {
  constructor(private readonly db: Db) {}

  /** The row, created with its defaults on first read. */
  async get(): Promise<ControlPlaneBackupRow> {
    const row = await this.db.selectFrom('control_plane_backup').selectAll().where('id', '=', 1).executeTakeFirst();
    if (row) return row;
    await this.db.insertInto('control_plane_backup').values({ id: 1, enabled: 0, cron_expr: '0 3 * * *', time_zone: 'UTC', recipients: '[]', include_key: 1 }).onConflict((oc) => oc.column('id').doNothing()).execute();
    return this.db.selectFrom('control_plane_backup').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  }

  async saveSettings(s: Pick<ControlPlaneBackupRow, 'enabled' | 'cron_expr' | 'time_zone' | 'repository_id' | 'recipients' | 'include_key' | 'updated_at'>): Promise<void> {
    await this.get();
    await this.db.updateTable('control_plane_backup').set(s).where('id', '=', 1).execute();
  }

  /**
   * Claims the run: sets running_since unless a run holds it (a claim older than `staleBefore`
   * is taken over: its process died). True when this caller now holds it.
   */
  async claim(at: string, staleBefore: string): Promise<boolean> {
    await this.get();
    const r = await this.db.updateTable('control_plane_backup').set({ running_since: at }).where('id', '=', 1)
      .where((eb) => eb.or([eb('running_since', 'is', null), eb('running_since', '<', staleBefore)])).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Records the run's end and releases the claim. */
  async finish(claimedAt: string, run: ControlPlaneBackupRunFields): Promise<void> {
    await this.db.updateTable('control_plane_backup').set({ ...run, running_since: null }).where('id', '=', 1).where('running_since', '=', claimedAt).execute();
  }
}
