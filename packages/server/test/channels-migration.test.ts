import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { MIGRATIONS } from '../src/migrations/index.js';
import { migrate, openStore } from '../src/store/db.js';
import { openPgStore } from '../src/store/pg.js';
import { storeEngines } from './helpers/stores.js';

/*
 * Migration 0036 (issue 21) on a database of the previous release: SQLite rebuilds
 * notification_channels to widen its type CHECK, which would cascade into the outbox if the
 * outbox were not set aside first. The channel and every outbox row (same seq, pending and dead)
 * must survive; the new types are accepted, an unknown one still refused, and deleting a
 * channel still cascades to its outbox rows.
 */
const LAST_OLD = '0035_control_plane_backup';
const T = '2026-06-01T10:00:00.000Z';
const engines = storeEngines();
afterAll(async () => {
  for (const e of engines) await e.stop();
});

const channel = (id: string, type: string) => ({
  id, name: id, type, enabled: 1, config: '{}', secrets_enc: 'sealed', kinds: '[]', min_severity: 'info', last_status: 'retrying', last_attempt_at: T,
  last_error: 'webhook answered HTTP 500', last_attempts: 2, last_success_at: null, created_at: T, updated_at: T,
});

describe.each(engines.map((e) => [e.name, e] as const))('migration 0036 on %s', (_name, engine) => {
  it.skipIf(engine.skip !== null)('keeps channels and outbox rows, widens the type, keeps the cascade', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-mig36-'));
    const url = engine.name === 'postgres' ? await engine.databaseUrl() : null;
    const store = url ? openPgStore(url, 2) : openStore(path.join(dir, 'db.sqlite'));
    try {
      const db = store.db;
      expect(await migrate(db, LAST_OLD)).toEqual(Object.keys(MIGRATIONS).filter((n) => n <= LAST_OLD));
      // The previous release's rows, written as it wrote them (its CHECK knew three types).
      await db.insertInto('notification_channels').values(channel('hook', 'webhook') as never).execute();
      const row = (n: number, status: 'pending' | 'dead') => ({ channel_id: 'hook', event: `{"n":${n}}`, status, attempts: 2, next_attempt_at: T, claimed_until: null, last_error: 'HTTP 500', created_at: T });
      for (let n = 1; n <= 9; n++) await db.insertInto('notification_outbox').values(row(n, n === 9 ? 'dead' : 'pending')).execute();
      await db.deleteFrom('notification_outbox').where('event', 'not in', ['{"n":7}', '{"n":9}']).execute(); // delivered ones: gaps in seq
      const old = (await db.selectFrom('notification_outbox').select(['seq', 'channel_id', 'status', 'event']).orderBy('seq').execute()).map((r) => ({ ...r, seq: Number(r.seq) }));
      expect(old.map((r) => r.event)).toEqual(['{"n":7}', '{"n":9}']);
      await expect(db.insertInto('notification_channels').values(channel('early', 'matrix') as never).execute()).rejects.toThrow();

      expect(await migrate(db)).toContain('0036_channels');
      expect((await db.selectFrom('notification_outbox').select(['seq', 'channel_id', 'status', 'event']).orderBy('seq').execute()).map((r) => ({ ...r, seq: Number(r.seq) }))).toEqual(old);
      expect(old.map((r) => r.status)).toEqual(['pending', 'dead']);
      expect(await db.selectFrom('notification_channels').select(['id', 'type', 'last_error', 'secrets_enc']).execute()).toEqual([{ id: 'hook', type: 'webhook', last_error: 'webhook answered HTTP 500', secrets_enc: 'sealed' }]);
      for (const t of ['slack', 'discord', 'telegram', 'gotify', 'pushover', 'matrix']) await db.insertInto('notification_channels').values(channel(`c-${t}`, t) as never).execute();
      await expect(db.insertInto('notification_channels').values(channel('bad', 'pager') as never).execute()).rejects.toThrow(/check/i);
      // New rows continue after the old seq; a deleted channel still takes its outbox rows with it.
      await db.insertInto('notification_outbox').values({ channel_id: 'c-matrix', event: '{}', status: 'pending', attempts: 0, next_attempt_at: T, claimed_until: null, last_error: null, created_at: T }).execute();
      const seqs = (await db.selectFrom('notification_outbox').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
      expect(seqs[2]).toBeGreaterThan(old[1]!.seq); // never a seq reused (a channel's order is by seq)
      await db.deleteFrom('notification_channels').where('id', '=', 'hook').execute();
      expect((await db.selectFrom('notification_outbox').select('channel_id').execute()).map((r) => r.channel_id)).toEqual(['c-matrix']);
      await sql`SELECT healthcheck_url_enc FROM schedules`.execute(db);
      // A row belongs to a channel or to a schedule (a ping), never to neither.
      await expect(db.insertInto('notification_outbox').values({ channel_id: null, schedule_id: null, event: '{}', status: 'pending', attempts: 0, next_attempt_at: T, claimed_until: null, last_error: null, created_at: T }).execute()).rejects.toThrow(/check/i);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
