import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '@restic-manager/protocol';
import { DOWNLOAD_CHUNK_BYTES, encodeDownloadChunk } from '@restic-manager/protocol';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, eventually, startHarness } from './helpers/harness.js';
import { storeEngines } from './helpers/stores.js';

/*
 * Downloads through a replica that does not hold the agent, with a scripted agent on replica A
 * and the browser on replica B (one real PostgreSQL): B's browser reading slowly holds the agent
 * back through A (TCP between the replicas, then A's credit window), and an agent that breaks off
 * mid-stream cuts B's transfer. The real agent and restic: e2e/replicas-download.test.ts.
 */

const pg = storeEngines().find((e) => e.name === 'postgres')!;
if (pg.skip) console.warn(`skipping the download-through-replicas tests: ${pg.skip}`);
const SNAP = 'eeee0001'.padEnd(64, '0');
type Start = Extract<ServerMessage, { type: 'download.start' }>;

describe.skipIf(pg.skip !== null)('downloads through another replica (fake agent, PostgreSQL)', () => {
  let keyDir: string;
  let a: Harness;
  let b: Harness;
  let ag: { agent: FakeAgent; hostId: string };
  let script: (m: Start, agent: FakeAgent) => void = () => undefined;
  const credits = new Map<string, number>();
  const cancels: string[] = [];

  beforeAll(async () => {
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'rm-dl-replicas-'));
    const databaseUrl = await pg.databaseUrl();
    const replica = () => startHarness({ databaseUrl, secretKeyFile: path.join(keyDir, 'secret.key') }, { cluster: { heartbeatMs: 200 }, downloadTimeouts: { readyMs: 20_000, stallMs: 30_000 } });
    a = await replica();
    b = await replica();
    ag = await enrolledAgent(a, 'dl-rep', { url: '/srv/restic/dl-rep', password: 'download-replicas-password-2', append_only: false });
    await ag.agent.connect();
    ag.agent.send({ type: 'snapshots.report', snapshots: [{ id: SNAP, short_id: 'eeee0001', time: '2026-01-01T00:00:00Z', hostname: 'a', paths: ['/srv'], tags: [] }] });
    await eventually(async () => (await b.admin.req('GET', `/api/hosts/${ag.hostId}/snapshots`)).body.total === 1 && (await b.admin.req('GET', `/api/hosts/${ag.hostId}`)).body.status === 'online', 30_000);
    ag.agent.o.onMessage = (m, agent) => {
      if (m.type === 'download.start') script(m, agent);
      if (m.type === 'download.cancel') cancels.push(m.request_id);
      if (m.type === 'download.credit') credits.set(m.request_id, (credits.get(m.request_id) ?? 0) + m.chunks);
    };
  });
  afterAll(async () => {
    await ag?.agent.close();
    await b?.close();
    await a?.close();
    await pg.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  const getViaB = (p: string) => fetch(`${b.url}/api/hosts/${ag.hostId}/snapshots/eeee0001/download?path=${encodeURIComponent(p)}&format=tar`, { headers: { cookie: `rm_session=${b.admin.cookie!}` } });
  /** The fake chunk `seq` (its bytes say which chunk it is). */
  const piece = (seq: number) => Buffer.alloc(DOWNLOAD_CHUNK_BYTES, seq % 251);
  /** Sends chunks while the server granted credit; `stopAt` breaks off there with an error. */
  const sender = (total: number, state: { sent: number }, stopAt = Infinity) => (m: Start, agent: FakeAgent) => {
    agent.send({ type: 'download.ready', request_id: m.request_id, kind: 'dir', size: total * DOWNLOAD_CHUNK_BYTES, entries: 1 });
    void (async () => {
      for (let seq = 0; seq < total; seq++) {
        if (seq === stopAt) return agent.send({ type: 'download.end', request_id: m.request_id, bytes: seq * DOWNLOAD_CHUNK_BYTES, chunks: seq, error: 'restic dump: disk read error', error_kind: 'failed' });
        await eventually(async () => seq < m.window + (credits.get(m.request_id) ?? 0) || cancels.includes(m.request_id), 60_000);
        if (cancels.includes(m.request_id)) return;
        agent.ws!.send(encodeDownloadChunk(m.request_id, seq, [piece(seq)], DOWNLOAD_CHUNK_BYTES));
        state.sent++;
      }
      agent.send({ type: 'download.end', request_id: m.request_id, bytes: total * DOWNLOAD_CHUNK_BYTES, chunks: total });
    })();
  };

  it("a slow browser on B holds the agent on A back (nothing is buffered whole); then every byte arrives in order", async () => {
    const total = 384; // 96 MiB
    const state = { sent: 0 };
    script = sender(total, state);
    const r = await getViaB('/srv/big');
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    let read = (await reader.read()).value!.length;
    // The browser reads nothing more: the agent stops once the credit window and the sockets are full.
    let last = -1;
    let since = Date.now();
    await eventually(async () => {
      if (state.sent !== last) [last, since] = [state.sent, Date.now()];
      return Date.now() - since > 1000;
    }, 30_000);
    expect(state.sent).toBeLessThan(total / 2);
    let offset = read;
    let ok = true;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.length; i++, offset++) if (value[i] !== Math.floor(offset / DOWNLOAD_CHUNK_BYTES) % 251) ok = false;
      read += value.length;
    }
    expect([read, ok]).toEqual([total * DOWNLOAD_CHUNK_BYTES, true]);
    const row = await eventually(async () => (await b.admin.req('GET', '/api/audit?action=snapshot.download')).body.items?.find((x: { payload: { outcome: string } }) => x.payload.outcome === 'completed'), 15_000);
    expect(row.payload.bytes).toBe(total * DOWNLOAD_CHUNK_BYTES);
    await eventually(async () => a.server.services.downloads.openCount() === 0 && b.server.services.downloads.openCount() === 0, 15_000);
  }, 90_000);

  it("an agent that breaks off mid-stream cuts B's transfer (never a clean end) and B audits it failed", async () => {
    const state = { sent: 0 };
    script = sender(40, state, 20);
    const r = await getViaB('/srv/broken');
    expect(r.status).toBe(200);
    await expect(r.arrayBuffer()).rejects.toThrow();
    const row = await eventually(async () => (await b.admin.req('GET', '/api/audit?action=snapshot.download')).body.items?.find((x: { payload: { outcome: string; path: string } }) => x.payload.path === '/srv/broken'), 15_000);
    expect(row.payload).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/^the download broke off between server replicas/) });
    expect(row.payload.bytes).toBeLessThanOrEqual(20 * DOWNLOAD_CHUNK_BYTES);
    await eventually(async () => a.server.services.downloads.openCount() === 0 && b.server.services.downloads.openCount() === 0, 15_000);
  }, 60_000);
});
