import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../src/crypto/secret-box.js';
import { createLogger } from '../src/logger.js';
import { createRepositories, inTransaction } from '../src/repositories/index.js';
import type { ServiceDeps } from '../src/services/context.js';
import { SlotService } from '../src/services/slot.service.js';
import type { Db } from '../src/store/db.js';
import { storeEngines } from './helpers/stores.js';

/*
 * Concurrency caps with several replicas (issue 17 × issue 21): three SlotServices, each with its
 * own transactions (on PostgreSQL: its own connections), decide on one database at the same time.
 * The count and the grant are one step under the queue lock, so a cap of 2 grants exactly 2 and
 * every queued job has a ticket of its own, however the decisions interleave.
 */
const engines = storeEngines();
afterAll(async () => {
  for (const e of engines) await e.stop();
});

describe.each(engines)('caps across replicas: $name', (engine) => {
  it.skipIf(engine.skip !== null)('three replicas admitting, pumping and releasing at once grant no more than the cap; tickets stay unique', async () => {
    const s = await engine.open();
    try {
      const box = new SecretBox(randomBytes(32));
      const connected = { send: () => true, isConnected: () => true, disconnect: () => undefined, connectedCount: () => 0 };
      const replica = (db: Db) => {
        const d: ServiceDeps = { db, repos: createRepositories(db), inTx: inTransaction(db), box, log: createLogger('silent'), agents: connected, now: () => Date.now(), baseUrl: () => 'http://127.0.0.1:1' };
        return new SlotService(d);
      };
      const replicas = [replica(s.db), replica(s.db), replica(s.db)];
      const repos = createRepositories(s.db);
      await repos.slots.replaceCaps([{ scope: 'fleet', cap_key: '', max_jobs: 2, updated_at: new Date().toISOString() }]);

      const N = 60;
      for (let round = 0; round < 5; round++) {
        const jobs = Array.from({ length: N }, (_, i) => ({ id: `r${round}-job-${i}`, host_id: `host-${i % 6}`, kind: 'backup', repository_id: null }));
        const verdicts = await Promise.all(jobs.map((j, i) => replicas[i % replicas.length]!.admit(j, 'server')));
        await Promise.all(replicas.flatMap((r) => [r.pump(), r.pump()]));
        const rows = await repos.slots.listSlots();
        expect(verdicts.filter(Boolean)).toHaveLength(2);
        expect(rows.filter((r) => r.state === 'holding')).toHaveLength(2);
        expect(rows).toHaveLength(N);
        expect(new Set(rows.map((r) => r.ticket)).size).toBe(N);
        // The holders end on two replicas at once while a third pumps: the queue moves, still two at a time.
        const holders = rows.filter((x) => x.state === 'holding');
        await Promise.all([...holders.map((r, i) => replicas[i]!.release(r.job_id)), replicas[2]!.pump()]);
        expect((await repos.slots.listSlots()).filter((r) => r.state === 'holding')).toHaveLength(2);
        for (const r of await repos.slots.listSlots()) await repos.slots.remove(r.job_id);
      }
    } finally {
      await s.close();
    }
  });
});
