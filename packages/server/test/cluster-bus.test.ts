import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findPostgres, startPostgres } from '@restic-manager/testkit';
import type { DbServer } from '@restic-manager/testkit';
import type { ClusterBus } from '../src/cluster/bus.js';
import { LocalMedium } from '../src/cluster/bus.js';
import { ClusterAgentLink } from '../src/cluster/cluster-agent-link.js';
import { BUS_CHANNEL, INLINE_MAX, PgBus } from '../src/cluster/pg-bus.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { ClusterMessageRepository } from '../src/repositories/cluster-message.repository.js';
import { JobHub } from '../src/services/job-hub.js';
import { migrate } from '../src/store/db.js';
import { openPgStore } from '../src/store/pg.js';
import type { OpenedPgStore } from '../src/store/pg.js';
import { AgentRegistry } from '../src/ws/agent-registry.js';

/*
 * One contract for the replicas' bus (issue 17, docs/scale-out.md), run against every
 * implementation: the in-process medium and PostgreSQL LISTEN/NOTIFY on a real server.
 */

const found = findPostgres();
if (!found.ok) console.warn(`skipping the PostgreSQL bus: ${found.reason}`);
const log = pino({ level: 'silent' });

interface Medium {
  /** Opens `n` buses on one medium (the same key unless `key` is given). */
  open(n: number, key?: Buffer): Promise<ClusterBus[]>;
  close(): Promise<void>;
}

function local(): Medium {
  const m = new LocalMedium();
  const buses: ClusterBus[] = [];
  return {
    open: (n) => {
      const out = Array.from({ length: n }, (_, i) => m.open(`replica-${buses.length + i}`));
      buses.push(...out);
      return Promise.resolve(out);
    },
    close: async () => {
      for (const b of buses.splice(0)) await b.close();
    },
  };
}

let server: DbServer | null = null;
let dbn = 0;
const KEY = randomBytes(32);

function postgres(): Medium {
  const stores: OpenedPgStore[] = [];
  const buses: ClusterBus[] = [];
  let url: string | null = null;
  return {
    async open(n, key = KEY) {
      if (!url) {
        server ??= await startPostgres();
        const name = `rm_bus_${process.pid}_${++dbn}`;
        server.sql(`CREATE DATABASE ${name}`);
        url = `postgres://${server.user}:${server.password}@127.0.0.1:${server.port}/${name}`;
      }
      const out: ClusterBus[] = [];
      for (let i = 0; i < n; i++) {
        const s = openPgStore(url, 2);
        stores.push(s);
        await migrate(s.db);
        const b = new PgBus({ url, db: s.db, spill: new ClusterMessageRepository(s.db), box: new SecretBox(key), log });
        await b.ready();
        out.push(b);
      }
      buses.push(...out);
      return out;
    },
    async close() {
      for (const b of buses.splice(0)) await b.close();
      for (const s of stores.splice(0)) await s.close();
    },
  };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const media: [string, () => Medium, boolean][] = [['in-process', local, true], ['PostgreSQL LISTEN/NOTIFY', postgres, found.ok]];

afterAll(async () => {
  await server?.stop();
});

/** A medium made before the file's tests and closed after them. */
function useMedium(make: () => Medium): () => Medium {
  let m: Medium | undefined;
  beforeAll(() => {
    m = make();
  });
  afterAll(() => m?.close());
  return () => m!;
}

for (const [name, make, available] of media) {
  describe.skipIf(!available)(`cluster bus contract: ${name}`, () => {
    const medium = useMedium(make);

    it('a message reaches every other bus on the medium with its sender, never the sender itself', async () => {
      const [a, b, c] = await medium().open(3);
      const got: Record<string, [unknown, string][]> = { a: [], b: [], c: [] };
      a!.on('job.frame', (body, from) => got.a!.push([body, from]));
      b!.on('job.frame', (body, from) => got.b!.push([body, from]));
      c!.on('job.frame', (body, from) => got.c!.push([body, from]));
      a!.publish('job.frame', { type: 'job.line', job_id: 'j1', n: 1 });
      await until(() => got.b!.length === 1 && got.c!.length === 1);
      expect(got.b![0]).toEqual([{ type: 'job.line', job_id: 'j1', n: 1 }, a!.replicaId]);
      expect(got.c![0]![1]).toBe(a!.replicaId);
      // a round trip the other way proves a's own message would have arrived by now
      c!.publish('job.frame', { type: 'job.line', job_id: 'j1', n: 2 });
      await until(() => got.a!.length === 1);
      expect(got.a!.map(([b2]) => (b2 as { n: number }).n)).toEqual([2]);
    });

    it('one publisher\'s messages arrive in order, and a handler sees only its own topic', async () => {
      const [a, b] = await medium().open(2);
      const seen: number[] = [];
      const other: unknown[] = [];
      b!.on('job.frame', (body) => seen.push((body as { n: number }).n));
      b!.on('presence', (body) => other.push(body));
      for (let i = 0; i < 300; i++) a!.publish('job.frame', { type: 'job.line', job_id: 'j2', n: i });
      await until(() => seen.length === 300);
      expect(seen).toEqual([...Array(300).keys()]);
      expect(other).toEqual([]);
    });

    it(`a message larger than one NOTIFY (${INLINE_MAX} bytes) arrives whole, in its place in the order`, async () => {
      const [a, b] = await medium().open(2);
      const seen: unknown[] = [];
      b!.on('agent.frame', (body) => seen.push(body));
      const big = { host_id: 'h', msg: { type: 'schedule.set', blob: 'x'.repeat(50_000) } };
      a!.publish('agent.frame', { host_id: 'h', msg: { n: 1 } });
      a!.publish('agent.frame', big);
      a!.publish('agent.frame', { host_id: 'h', msg: { n: 3 } });
      await until(() => seen.length === 3);
      expect(seen[1]).toEqual(big);
      expect(seen.map((s) => (s as { msg: { n?: number } }).msg.n)).toEqual([1, undefined, 3]);
    });

    it('peers() lists the other buses receiving on the medium, never itself, and not one that closed', async () => {
      const [a, b] = await medium().open(2);
      expect(await a!.peers()).toContain(b!.replicaId);
      expect(await a!.peers()).not.toContain(a!.replicaId);
      await b!.close();
      const end = Date.now() + 10_000;
      while ((await a!.peers()).includes(b!.replicaId) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(await a!.peers()).not.toContain(b!.replicaId);
    });
  });

  describe.skipIf(!available)(`job frames between replicas: ${name}`, () => {
    const medium = useMedium(make);
    /** A replica's presence and job hub on a bus, with its publishes counted. */
    const replicaOn = (bus: ClusterBus) => {
      const publish = vi.spyOn(bus, 'publish');
      const link = new ClusterAgentLink(new AgentRegistry(), bus, { heartbeatMs: 200 });
      const hub = new JobHub(bus, () => link.hasPeers());
      return { link, hub, jobFrames: () => publish.mock.calls.filter(([topic]) => topic === 'job.frame').length };
    };

    it('a lone replica puts no job frame on the bus; one that joins meanwhile receives every frame published after its start', async () => {
      const [busA] = await medium().open(1);
      const a = replicaOn(busA!);
      await a.link.start();
      let n = 0;
      const frame = (): void => a.hub.publish({ type: 'log.stream', job_id: 'j', n: n++ });
      const local: unknown[] = [];
      a.hub.subscribe('j', (f) => local.push(f.n));
      for (let i = 0; i < 100; i++) frame();
      expect(local).toHaveLength(100);
      expect(a.link.hasPeers()).toBe(false);
      expect(a.jobFrames()).toBe(0);

      // a second replica starts while the first one's agent keeps streaming lines
      const ticker = setInterval(() => frame(), 1);
      try {
        const [busB] = await medium().open(1);
        const b = replicaOn(busB!);
        await b.link.start();
        // b's browsers may subscribe from here on: not one frame published after this may be missing
        const from = n;
        const got: number[] = [];
        b.hub.subscribe('j', (f) => got.push(f.n as number));
        await until(() => n >= from + 50);
        clearInterval(ticker);
        const to = n;
        await until(() => got.at(-1) === to - 1);
        expect(a.link.hasPeers()).toBe(true);
        // (frames published just before may still arrive after the subscription: in order, before these)
        expect(got.filter((x) => x >= from)).toEqual(Array.from({ length: to - from }, (_, i) => from + i));
        expect(b.jobFrames()).toBe(0);
        b.link.stop();
      } finally {
        clearInterval(ticker);
        a.link.stop();
      }
    });
  });
}

describe.skipIf(!found.ok)('cluster bus on PostgreSQL: sealed on the wire', () => {
  const medium = useMedium(postgres);

  it('a NOTIFY payload never carries the frame in clear, and a bus with another key ignores it', async () => {
    const [a, b] = await medium().open(2);
    const [stranger] = await medium().open(1, randomBytes(32));
    const got: unknown[] = [];
    const strangerGot: unknown[] = [];
    b!.on('agent.frame', (x) => got.push(x));
    stranger!.on('agent.frame', (x) => strangerGot.push(x));
    // a plain LISTEN, as anyone with database access could do
    const raw = new pg.Client({ connectionString: `postgres://${server!.user}:${server!.password}@127.0.0.1:${server!.port}/rm_bus_${process.pid}_${dbn}` });
    await raw.connect();
    const payloads: string[] = [];
    raw.on('notification', (n) => payloads.push(n.payload ?? ''));
    await raw.query(`LISTEN ${BUS_CHANNEL}`);
    try {
      const secret = 'repo-password-must-not-show-4d1e';
      a!.publish('agent.frame', { host_id: 'h', msg: { type: 'command.run', password: secret } });
      await until(() => got.length === 1 && payloads.length === 1);
      expect(JSON.stringify(got[0])).toContain(secret);
      expect(payloads[0]).not.toContain(secret);
      expect(payloads[0]).not.toContain('command.run');
      // the stranger received the same NOTIFY and dropped it
      b!.publish('agent.frame', { host_id: 'h', msg: { n: 2 } });
      await until(() => payloads.length === 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(strangerGot).toEqual([]);
    } finally {
      await raw.end();
    }
  });
});
