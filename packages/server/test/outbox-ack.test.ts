import { describe, expect, it } from 'vitest';
import { behindTheServer, enrolledAgent, useHarness, dispatchedJob } from './helpers/harness.js';
import { OutboxAcks } from '../src/ws/outbox-acks.js';

const now = (): string => new Date().toISOString();

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

describe('poison reports (issue 22): a report that can never be stored is set aside, not replayed forever', () => {
  const h = useHarness();

  it('after 3 failed attempts while the store takes other writes: quarantined, acknowledged, alerted; the outbox moves on; an admin reads and discards it', async () => {
    const { agent, hostId, id } = await dispatchedJob(h, 'poisoned');
    agent.o.activeJobIds = [id]; // it reconnects with the job still running
    agent.send({ type: 'job.started', job_id: id, seq: 0, kind: 'check', started_at: now(), outbox_seq: 1 });
    expect(await agent.next('ack')).toEqual({ type: 'ack', outbox_seq: 1 });
    const exec = await behindTheServer(h);
    if (h.databaseUrl) {
      await exec("CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.payload = 'POISON' THEN RAISE EXCEPTION 'poisoned by the test'; END IF; RETURN NEW; END $$");
      await exec('CREATE TRIGGER poison BEFORE INSERT ON job_logs FOR EACH ROW EXECUTE FUNCTION poison()');
    } else {
      await exec("CREATE TRIGGER poison BEFORE INSERT ON job_logs WHEN NEW.payload = 'POISON' BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END");
    }
    try {
      const poison = { type: 'log.stream', job_id: id, seq: 1, ts: now(), stream: 'stdout', payload: 'POISON', outbox_seq: 2 } as const;
      // Attempts 1 and 2: not stored, not acknowledged, the socket closes so the agent replays it.
      for (let attempt = 1; attempt <= 2; attempt++) {
        if (attempt > 1) await agent.connect();
        agent.send(poison);
        expect(await agent.next('error')).toMatchObject({ code: 'internal' });
        expect((await agent.closed).code).toBe(1011);
      }
      expect(agent.received.filter((m) => m.type === 'ack' && (m as { outbox_seq: number }).outbox_seq === 2)).toEqual([]);
      // Attempt 3: set aside and acknowledged; the socket stays up and the next report is stored.
      await agent.connect();
      agent.send(poison);
      expect(await agent.next('error')).toMatchObject({ code: 'report_quarantined' });
      agent.send({ type: 'log.stream', job_id: id, seq: 2, ts: now(), stream: 'stdout', payload: 'after the poison', outbox_seq: 3 });
      let ack = await agent.next('ack');
      while ((ack as { outbox_seq: number }).outbox_seq < 3) ack = await agent.next('ack');
      expect(ack).toEqual({ type: 'ack', outbox_seq: 3 });
      expect((await h.admin.req('GET', `/api/jobs/${id}/logs`)).body.items.map((l: { payload: string }) => l.payload)).toEqual(['after the poison']);
    } finally {
      await exec(h.databaseUrl ? 'DROP TRIGGER poison ON job_logs' : 'DROP TRIGGER poison');
      await exec(null);
    }
    const q = await h.admin.req('GET', `/api/hosts/${hostId}/quarantined-reports`);
    expect(q.status).toBe(200);
    expect(q.body.total).toBe(1);
    expect(q.body.items[0]).toMatchObject({ type: 'log.stream', outbox_seq: 2, attempts: 3, error: expect.stringContaining('poisoned by the test') });
    expect(JSON.parse(q.body.items[0].frame)).toMatchObject({ payload: 'POISON', job_id: id });
    const alerts = async () => (await h.admin.req('GET', `/api/alerts?kind=report_quarantined&host_id=${hostId}&open=true`)).body.items;
    expect(await alerts()).toHaveLength(1);
    expect((await h.admin.req('DELETE', `/api/hosts/${hostId}/quarantined-reports`)).body).toEqual({ discarded: 1 });
    expect(await alerts()).toEqual([]);
    expect((await h.admin.req('GET', `/api/hosts/${hostId}/quarantined-reports`)).body.total).toBe(0);
    await agent.close();
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
