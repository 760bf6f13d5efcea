import type { Selectable } from 'kysely';
import type { Db } from '../store/db.js';
import type { NotificationOutboxTable } from '../store/schema.js';

export type OutboxRow = Selectable<NotificationOutboxTable>;

/** The durable notification outbox (migration 0028), SQL only. */
export class NotificationOutboxRepository {
  constructor(private readonly db: Db) {}

  async add(channelId: string, event: string, createdAt: string, dueAt: string): Promise<void> {
    await this.db.insertInto('notification_outbox').values({ channel_id: channelId, event, status: 'pending', attempts: 0, next_attempt_at: dueAt, claimed_until: null, last_error: null, created_at: createdAt }).execute();
  }

  /** A schedule ping (issue 21): same queue, retries and dead letters as alert events; its lane is the schedule. */
  async addPing(scheduleId: string, event: string, createdAt: string, dueAt: string): Promise<void> {
    await this.db.insertInto('notification_outbox').values({ channel_id: null, schedule_id: scheduleId, event, status: 'pending', attempts: 0, next_attempt_at: dueAt, claimed_until: null, last_error: null, created_at: createdAt }).execute();
  }

  /** Drops the oldest unclaimed pending rows of a channel beyond `keep`; how many were dropped. */
  async trimPending(channelId: string, keep: number, now: string): Promise<number> {
    const rows = await this.db.selectFrom('notification_outbox').select('seq').where('channel_id', '=', channelId).where('status', '=', 'pending')
      .orderBy('seq', 'desc').offset(keep).limit(10_000).execute();
    if (!rows.length) return 0;
    const r = await this.db.deleteFrom('notification_outbox').where('seq', 'in', rows.map((x) => x.seq))
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)])).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** The oldest pending row of every lane (a channel, or a schedule's pings) that has one: a lane's rows go out in order. */
  async heads(): Promise<OutboxRow[]> {
    const firsts = this.db.selectFrom('notification_outbox').select((eb) => eb.fn.min('seq').as('seq')).where('status', '=', 'pending').groupBy(['channel_id', 'schedule_id']);
    return this.db.selectFrom('notification_outbox').selectAll().where('seq', 'in', firsts).orderBy('seq').execute();
  }

  /** Takes the lease on a row until `until` unless another process holds it; true when taken. */
  async claim(seq: number, now: string, until: string): Promise<boolean> {
    const r = await this.db.updateTable('notification_outbox').set({ claimed_until: until }).where('seq', '=', seq).where('status', '=', 'pending')
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)])).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delivered(seq: number): Promise<void> {
    await this.db.deleteFrom('notification_outbox').where('seq', '=', seq).execute();
  }

  async failed(seq: number, p: { attempts: number; error: string; nextAt: string | null }): Promise<void> {
    await this.db.updateTable('notification_outbox')
      .set({ attempts: p.attempts, last_error: p.error, claimed_until: null, ...(p.nextAt ? { next_attempt_at: p.nextAt } : { status: 'dead' }) })
      .where('seq', '=', seq).execute();
  }

  /** Gives a row's lease back (this process stops before the attempt ended). */
  async release(seq: number): Promise<void> {
    await this.db.updateTable('notification_outbox').set({ claimed_until: null }).where('seq', '=', seq).execute();
  }

  async dropPendingOf(channelId: string): Promise<void> {
    await this.db.deleteFrom('notification_outbox').where('channel_id', '=', channelId).where('status', '=', 'pending').execute();
  }

  async pendingCount(): Promise<number> {
    const r = await this.db.selectFrom('notification_outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Per channel: rows waiting and dead letters. */
  async counts(): Promise<{ channel_id: string; status: string; n: number }[]> {
    const rows = await this.db.selectFrom('notification_outbox').select(['channel_id', 'status', (eb) => eb.fn.countAll<number>().as('n')]).where('channel_id', 'is not', null).groupBy(['channel_id', 'status']).execute();
    return rows.map((r) => ({ channel_id: r.channel_id ?? '', status: r.status, n: Number(r.n) }));
  }

  list(status: 'pending' | 'dead', limit: number, offset: number): Promise<OutboxRow[]> {
    return this.db.selectFrom('notification_outbox').selectAll().where('status', '=', status).orderBy('seq', 'desc').limit(limit).offset(offset).execute();
  }

  findBySeq(seq: number): Promise<OutboxRow | undefined> {
    return this.db.selectFrom('notification_outbox').selectAll().where('seq', '=', seq).executeTakeFirst();
  }

  /** A dead letter back in the queue, due now, its attempts reset. */
  async requeue(seq: number, now: string): Promise<boolean> {
    const r = await this.db.updateTable('notification_outbox').set({ status: 'pending', attempts: 0, next_attempt_at: now, claimed_until: null }).where('seq', '=', seq).where('status', '=', 'dead').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async remove(seq: number): Promise<boolean> {
    const r = await this.db.deleteFrom('notification_outbox').where('seq', '=', seq).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** Dead letters older than `before` are forgotten. */
  async pruneDead(before: string): Promise<void> {
    await this.db.deleteFrom('notification_outbox').where('status', '=', 'dead').where('created_at', '<', before).execute();
  }
}
