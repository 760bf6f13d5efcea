import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import { dialectOf } from '../store/dialect.js';
import type { ConcurrencyCapsTable, JobSlotsTable } from '../store/schema.js';

export type CapRow = Selectable<ConcurrencyCapsTable>;
export type SlotRow = Selectable<JobSlotsTable>;

/** The PostgreSQL advisory lock key that serialises slot decisions (any fixed 64-bit number; "rm-slots" in ASCII). */
const QUEUE_LOCK = 0x726d2d736c6f7473n;

/** Concurrency caps and job slots (migration 0038, issue 21), SQL only. */
export class SlotRepository {
  constructor(private readonly db: Db) {}

  /**
   * Serialises slot decisions until the surrounding transaction ends: without it two replicas (or
   * two connections of one) could each count the same free slot and both grant it. PostgreSQL: a
   * transaction-scoped advisory lock (call inside a transaction; it is released at commit or
   * rollback). SQLite: nothing to do, its one connection runs one transaction at a time.
   */
  async lockQueue(): Promise<void> {
    if (dialectOf(this.db) === 'postgres') await sql`SELECT pg_advisory_xact_lock(${QUEUE_LOCK.toString()}::bigint)`.execute(this.db);
  }

  listCaps(): Promise<CapRow[]> {
    return this.db.selectFrom('concurrency_caps').selectAll().orderBy('scope').orderBy('cap_key').execute();
  }

  /** Replaces every cap with `rows`. Call inside a transaction. */
  async replaceCaps(rows: CapRow[]): Promise<void> {
    await this.db.deleteFrom('concurrency_caps').execute();
    if (rows.length) await this.db.insertInto('concurrency_caps').values(rows).execute();
  }

  /** Every slot row, oldest ticket first (the queue order). */
  listSlots(): Promise<SlotRow[]> {
    return this.db.selectFrom('job_slots').selectAll().orderBy('ticket').execute();
  }

  find(jobId: string): Promise<SlotRow | undefined> {
    return this.db.selectFrom('job_slots').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  }

  /** Adds a job at the end of the queue (a ticket above every other); nothing when it has a row already. */
  async enqueue(row: Omit<SlotRow, 'ticket'>): Promise<void> {
    await this.db.insertInto('job_slots')
      .values({ ...row, ticket: sql<number>`(SELECT COALESCE(MAX(ticket), 0) + 1 FROM job_slots)` })
      .onConflict((oc) => oc.column('job_id').doNothing()).execute();
  }

  /** Marks waiting jobs as holding, leased until `until`. */
  async grant(jobIds: string[], at: string, until: string): Promise<void> {
    if (!jobIds.length) return;
    await this.db.updateTable('job_slots').set({ state: 'holding', granted_at: at, lease_expires_at: until }).where('job_id', 'in', jobIds).execute();
  }

  /** Removes a job's row; returns it (undefined when it had none). */
  async remove(jobId: string): Promise<SlotRow | undefined> {
    const row = await this.find(jobId);
    if (row) await this.db.deleteFrom('job_slots').where('job_id', '=', jobId).execute();
    return row;
  }

  /** Extends the leases of the slots held by jobs of these hosts. */
  async renew(hostIds: string[], until: string): Promise<void> {
    if (!hostIds.length) return;
    await this.db.updateTable('job_slots').set({ lease_expires_at: until }).where('state', '=', 'holding').where('host_id', 'in', hostIds).execute();
  }

  /** Removes the holding rows whose lease ran out; returns them. */
  async reclaimExpired(now: string): Promise<SlotRow[]> {
    const rows = await this.db.selectFrom('job_slots').selectAll().where('state', '=', 'holding').where('lease_expires_at', '<', now).execute();
    if (rows.length) await this.db.deleteFrom('job_slots').where('job_id', 'in', rows.map((r) => r.job_id)).execute();
    return rows;
  }
}
