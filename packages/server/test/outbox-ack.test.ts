import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, useHarness, dispatchedJob } from './helpers/harness.js';
import { OutboxAcks } from '../src/ws/outbox-acks.js';

const now = (): string => new Date().toISOString();

/** A second connection to the harness's store (SQLite file or PostgreSQL); `null` closes it. */
async function behindTheServer(h: Harness): Promise<(q: string | null) => Promise<void>> {
  if (!h.databaseUrl) {
    const db = new Database(path.join(h.dataDir, 'restic-manager.db'));
    return (q) => Promise.resolve(q === null ? void db.close() : void db.exec(q));
  }
  const client = new pg.Client({ connectionString: h.databaseUrl });
  await client.connect();
  return async (q) => {
    if (q === null) await client.end();
    else await client.query(q);
  };
}

describe('outbox acknowledgement on the agent socket (docs/protocol.md)', () => {
  const h = useHarness();

  const job = async (id: string) => (await h.admin.req('GET', `/api/jobs/${id}`)).body;

  it('announces outbox_acks and acks reports only once they are stored; unnumbered frames get no ack', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'acks');
    expect(await agent.connect()).toMatchObject({ type: 'hello', outbox_acks: true });
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'check', args: {} });
    const id = run.body.job.id as string;
    await agent.next('command.run');
    agent.send({ type: 'job.started', job_id: id, seq: 0, kind: 'check', started_at: now(), outbox_seq: 5 });
    for (let i = 1; i <= 20; i++) agent.send({ type: 'log.stream', job_id: id, seq: i, ts: now(), stream: 'stdout', payload: `line ${i}`, outbox_seq: 5 + i });
    agent.send({ type: 'job.finished', job_id: id, seq: 21, status: 'succeeded', exit_code: 0, stats: null, error: null, finished_at: now(), outbox_seq: 26 });
    let ack = await agent.next('ack');
    while ((ack as { outbox_seq: number }).outbox_seq < 26) ack = await agent.next('ack');
    expect(ack).toEqual({ type: 'ack', outbox_seq: 26 });
    // Everything acknowledged is already readable from the store.
    expect((await job(id)).status).toBe('succeeded');
    expect((await h.admin.req('GET', `/api/jobs/${id}/logs`)).body.items).toHaveLength(20);

    // A report the server rejects for good (unknown job) is acknowledged after its error frame;
    // frames without outbox_seq (heartbeat, an old agent's report) are never acknowledged.
    agent.send({ type: 'log.stream', job_id: 'no-such-job', seq: 0, ts: now(), stream: 'stdout', payload: 'x', outbox_seq: 27 });
    expect(await agent.next('error')).toMatchObject({ code: 'not_found' });
    expect(await agent.next('ack')).toEqual({ type: 'ack', outbox_seq: 27 });
    agent.heartbeat();
    agent.send({ type: 'log.stream', job_id: id, seq: 22, ts: now(), stream: 'stdout', payload: 'legacy', outbox_seq: undefined });
    await expect(agent.next('ack', 500)).rejects.toThrow();
    await agent.close();
  });

  it('stores and acknowledges a repo.stats with no figure and no lock state (a failed lock listing), keeping the last figures', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'bare-stats');
    await agent.connect();
    agent.send({ type: 'repo.stats', size_bytes: 4096, snapshot_count: 2, dedup_ratio: 1.2, lock_state: 'unlocked', outbox_seq: 1 });
    expect(await agent.next('ack')).toEqual({ type: 'ack', outbox_seq: 1 });
    agent.send({ type: 'repo.stats', size_bytes: null, snapshot_count: null, dedup_ratio: null, outbox_seq: 2 });
    expect(await agent.next('ack')).toEqual({ type: 'ack', outbox_seq: 2 });
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body).toMatchObject({ repo_size_bytes: 4096, snapshot_count: 2, status: 'online' });
    await agent.close();
  });

  it('a report the server could not store is never acknowledged: error internal, close 1011', async () => {
    const { agent, id } = await dispatchedJob(h, 'store-fails');
    agent.send({ type: 'job.started', job_id: id, seq: 0, kind: 'check', started_at: now(), outbox_seq: 1 });
    expect(await agent.next('ack')).toEqual({ type: 'ack', outbox_seq: 1 });
    // Break the log table behind the server's back: the next log line cannot be stored.
    const exec = await behindTheServer(h);
    await exec('ALTER TABLE job_logs RENAME TO job_logs_away');
    try {
      agent.send({ type: 'log.stream', job_id: id, seq: 1, ts: now(), stream: 'stdout', payload: 'lost?', outbox_seq: 2 });
      agent.send({ type: 'heartbeat', ts: now(), running_job_ids: [] });
      expect(await agent.next('error')).toMatchObject({ code: 'internal' });
      expect((await agent.closed).code).toBe(1011);
      expect(agent.received.filter((m) => m.type === 'ack')).toEqual([]);
    } finally {
      await exec('ALTER TABLE job_logs_away RENAME TO job_logs');
      await exec(null);
    }
  });
});

describe('OutboxAcks', () => {
  it('acks the highest applied seq when idle or every N reports, and nothing past a freeze', () => {
    const sent: number[] = [];
    const a = new OutboxAcks((s) => sent.push(s), 3);
    a.done(1);
    a.done(undefined);
    a.done(2);
    expect(sent).toEqual([]);
    a.idle();
    a.idle();
    expect(sent).toEqual([2]);
    a.done(3);
    a.done(4);
    a.done(5);
    expect(sent).toEqual([2, 5]);
    a.done(6);
    a.freeze();
    a.done(7);
    a.idle();
    expect(sent).toEqual([2, 5, 6]);
  });
});
