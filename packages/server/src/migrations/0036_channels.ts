import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { dialectOf } from '../store/dialect.js';

const TYPES = `'webhook','ntfy','email','slack','discord','telegram','gotify','pushover','matrix'`;

/**
 * Migration 36 (issue 21, docs/alerts.md): chat and push channels, and per-schedule pings.
 * - `notification_channels.type` may be slack, discord, telegram, gotify, pushover or matrix.
 *   PostgreSQL replaces the CHECK; SQLite cannot, so the table is rebuilt — with the outbox
 *   (which references it, ON DELETE CASCADE) set aside first and put back row for row (same
 *   `seq`), because dropping the old table would otherwise cascade into the outbox.
 * - `schedules.healthcheck_url_enc`: a Healthchecks-style ping URL, sealed; null = none.
 * - The outbox also carries those pings: a row belongs to a channel or (new `schedule_id`) to a
 *   schedule, exactly one of the two; a deleted schedule takes its waiting pings with it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) === 'postgres') {
    await sql`ALTER TABLE notification_channels DROP CONSTRAINT IF EXISTS notification_channels_type_check`.execute(db);
    await sql.raw(`ALTER TABLE notification_channels ADD CONSTRAINT notification_channels_type_check CHECK (type IN (${TYPES}))`).execute(db);
    await sql`ALTER TABLE notification_outbox ALTER COLUMN channel_id DROP NOT NULL`.execute(db);
    await sql`ALTER TABLE notification_outbox ADD COLUMN schedule_id TEXT REFERENCES schedules(id) ON DELETE CASCADE`.execute(db);
    await sql`ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_one_target CHECK ((channel_id IS NULL) <> (schedule_id IS NULL))`.execute(db);
  } else {
    await sql`CREATE TABLE notification_outbox_v36 AS SELECT * FROM notification_outbox`.execute(db);
    await sql`DROP TABLE notification_outbox`.execute(db);
    await sql.raw(`CREATE TABLE notification_channels_v36 (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL CHECK (type IN (${TYPES})),
      enabled INTEGER NOT NULL DEFAULT 1, config TEXT NOT NULL, secrets_enc TEXT,
      kinds TEXT NOT NULL DEFAULT '[]', min_severity TEXT NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info','warning','critical')),
      last_status TEXT CHECK (last_status IN ('ok','retrying','failed')), last_attempt_at TEXT, last_error TEXT,
      last_attempts INTEGER NOT NULL DEFAULT 0, last_success_at TEXT,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`).execute(db);
    await sql`INSERT INTO notification_channels_v36 SELECT id, name, type, enabled, config, secrets_enc, kinds, min_severity, last_status, last_attempt_at, last_error, last_attempts, last_success_at, created_at, updated_at FROM notification_channels`.execute(db);
    await sql`DROP TABLE notification_channels`.execute(db);
    await sql`ALTER TABLE notification_channels_v36 RENAME TO notification_channels`.execute(db);
    await sql`CREATE TABLE notification_outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      channel_id TEXT REFERENCES notification_channels(id) ON DELETE CASCADE,
      schedule_id TEXT REFERENCES schedules(id) ON DELETE CASCADE,
      event TEXT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      next_attempt_at TEXT NOT NULL,
      claimed_until TEXT,
      last_error TEXT,
      created_at TEXT NOT NULL,
      CHECK ((channel_id IS NULL) <> (schedule_id IS NULL))
    )`.execute(db);
    await sql`INSERT INTO notification_outbox (seq, channel_id, event, status, attempts, next_attempt_at, claimed_until, last_error, created_at)
      SELECT seq, channel_id, event, status, attempts, next_attempt_at, claimed_until, last_error, created_at FROM notification_outbox_v36`.execute(db);
    await sql`DROP TABLE notification_outbox_v36`.execute(db);
    await sql`CREATE INDEX notification_outbox_channel ON notification_outbox(channel_id, status, seq)`.execute(db);
  }
  await sql`CREATE INDEX notification_outbox_schedule ON notification_outbox(schedule_id, status, seq)`.execute(db);
  await sql`ALTER TABLE schedules ADD COLUMN healthcheck_url_enc TEXT`.execute(db);
}
