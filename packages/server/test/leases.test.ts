import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../src/crypto/secret-box.js';
import { createLogger } from '../src/logger.js';
import { createRepositories, inTransaction } from '../src/repositories/index.js';
import type { ServiceDeps } from '../src/services/context.js';
import { Leases } from '../src/services/leases.js';
import { createServices } from '../src/services/services.js';
import type { Db } from '../src/store/db.js';
import { storeEngines } from './helpers/stores.js';

/*
 * Issue 17: periodic work that must run once per fleet takes a named lease first. The lease
 * contract on SQLite and PostgreSQL, and two server processes' service graphs on one database
 * firing a server-fired schedule: each fire time fires once, also when the holder stops and the
 * other takes over.
 */
const engines = storeEngines();
afterAll(async () => {
  for (const e of engines) await e.stop();
});

describe.each(engines)('leases: $name', (engine) => {
  it.skipIf(engine.skip !== null)('one holder at a time; renewal keeps it; expiry or release hands it over', async () => {
    const s = await engine.open();
    try {
      const errors: string[] = [];
      const a = new Leases(s.db, (_n, e) => errors.push(e.message), 'holder-a', 60_000);
      const b = new Leases(s.db, (_n, e) => errors.push(e.message), 'holder-b', 60_000);
      expect(await a.held('x')).toBe(true);
      expect(await b.held('x')).toBe(false);
      expect(await b.held('y')).toBe(true); // another name is another lease
      expect(await a.held('x')).toBe(true); // renewed
      // Both race for an expired lease: exactly one wins.
      // Expire it in the table (no sleeping against a short TTL on a loaded machine).
      await s.db.updateTable('leases').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('name', '=', 'x').execute();
      const race = await Promise.all([a.held('x'), b.held('x')]);
      expect(race.filter(Boolean)).toHaveLength(1);
      const winner = race[0] ? a : b;
      const loser = race[0] ? b : a;
      expect(await loser.held('x')).toBe(false);
      await winner.releaseAll();
      expect(await loser.held('x')).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it.skipIf(engine.skip !== null)('a server-fired schedule fires once per fire time across two processes, also across a takeover', async () => {
    const s = await engine.open();
    let clock = Date.parse('2026-03-01T00:00:00.000Z');
    const box = new SecretBox(randomBytes(32));
    const offline = { send: () => false, isConnected: () => false, disconnect: () => undefined, connectedCount: () => 0 };
    const processOn = (db: Db) => {
      const d: ServiceDeps = { db, repos: createRepositories(db), inTx: inTransaction(db), box, log: createLogger('silent'), agents: offline, now: () => clock, baseUrl: () => 'http://127.0.0.1:1' };
      return createServices(d, { idleMs: 3600_000, absoluteMs: 7200_000, passwordLogin: true });
    };
    const p1 = processOn(s.db);
    const p2 = processOn(s.db);
    try {
      const t = new Date(clock).toISOString();
      await s.db.insertInto('hosts').values({ id: 'h1', name: 'lease-host', status: 'offline', tags: '[]', created_at: t }).execute();
      await s.db.insertInto('schedules').values({
        id: 's1', host_id: 'h1', kind: 'prune', cron_expr: '*/5 * * * * *', time_zone: 'UTC', enabled: 1, paths: '[]', excludes: '[]', tags: '[]',
        retention_policy: null, options: '{}', pre_hook_enc: null, post_hook_enc: null, run_as: null, created_at: t, updated_at: t,
      }).execute();
      const fired = async (): Promise<string[]> => (await s.db.selectFrom('jobs').select(['created_at']).where('schedule_id', '=', 's1').orderBy('created_at').execute()).map((j) => j.created_at);
      // Jobs of an offline host stay queued; end them so the next fire is not skipped as "busy".
      const endAll = () => s.db.updateTable('jobs').set({ status: 'succeeded' }).where('schedule_id', '=', 's1').execute();

      // 20 ticks, 1 s apart: both processes tick every time; every 5 s one job.
      for (let i = 0; i < 20; i++) {
        clock += 1000;
        await Promise.all([p1.maintenanceScheduler.tick(), p2.maintenanceScheduler.tick()]);
        await endAll();
      }
      expect((await fired()).length).toBe(4);

      // The holder stops (releases nothing: as if killed); the other takes over once its lease expires.
      const holder = (await s.db.selectFrom('leases').select('holder').where('name', '=', 'maintenance-scheduler').executeTakeFirstOrThrow()).holder;
      const [stays] = holder === p1.leases.holder ? [p2] : [p1];
      await s.db.updateTable('leases').set({ expires_at: new Date(Date.now() - 1).toISOString() }).where('name', '=', 'maintenance-scheduler').execute();
      for (let i = 0; i < 10; i++) {
        clock += 1000;
        await stays.maintenanceScheduler.tick();
        await endAll();
      }
      const all = await fired();
      expect(all.length).toBe(6);
      expect(new Set(all).size).toBe(all.length);
      expect((await s.db.selectFrom('leases').select('holder').where('name', '=', 'maintenance-scheduler').executeTakeFirstOrThrow()).holder).toBe(stays.leases.holder);
    } finally {
      p1.notifier.close();
      p2.notifier.close();
      await s.close();
    }
  });
});
