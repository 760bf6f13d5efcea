import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { FakeAgent } from '@restic-manager/server/testing';
import { enrolledAgent, startHarness, useHarness } from './helpers/harness.js';

/*
 * Concurrency caps (issue 21): the caps API refuses hostile input naming the field and changes
 * nothing; a capped schedule reaches the agent marked `capped`; the agent's queued scheduled
 * jobs get `slot.grant` in queue order as slots free up.
 */

describe('PUT /api/caps refuses bad input naming the field', () => {
  const h = useHarness({ logLevel: 'warn' });

  const refused: [string, unknown, string][] = [
    ['zero', { caps: [{ scope: 'fleet', max_jobs: 0 }] }, 'caps.0.max_jobs'],
    ['negative', { caps: [{ scope: 'fleet', max_jobs: -3 }] }, 'caps.0.max_jobs'],
    ['over 1000', { caps: [{ scope: 'fleet', max_jobs: 1001 }] }, 'caps.0.max_jobs'],
    ['a fraction', { caps: [{ scope: 'fleet', max_jobs: 1.5 }] }, 'caps.0.max_jobs'],
    ['a string', { caps: [{ scope: 'fleet', max_jobs: '2' }] }, 'caps.0.max_jobs'],
    ['null', { caps: [{ scope: 'fleet', max_jobs: null }] }, 'caps.0.max_jobs'],
    ['a huge number', { caps: [{ scope: 'fleet', max_jobs: 1e308 }] }, 'caps.0.max_jobs'],
    ['an unknown scope', { caps: [{ scope: 'planet', max_jobs: 1 }] }, 'caps.0.scope'],
    ['a key on the fleet cap', { caps: [{ scope: 'fleet', key: 'x', max_jobs: 1 }] }, 'caps.0.key'],
    ['a tag with a space', { caps: [{ scope: 'fleet', max_jobs: 1 }, { scope: 'tag', key: 'a b', max_jobs: 1 }] }, 'caps.1.key'],
    ['a backend key with a line break', { caps: [{ scope: 'backend', key: 's3:x\nInjected: 1', max_jobs: 1 }] }, 'caps.0.key'],
    ['a backend key with NUL', { caps: [{ scope: 'backend', key: 's3:x\u0000', max_jobs: 1 }] }, 'caps.0.key'],
    ['an empty backend key', { caps: [{ scope: 'backend', key: '', max_jobs: 1 }] }, 'caps.0.key'],
    ['an over-long key', { caps: [{ scope: 'backend', key: 'k'.repeat(301), max_jobs: 1 }] }, 'caps.0.key'],
    ['a duplicate cap', { caps: [{ scope: 'tag', key: 'db', max_jobs: 1 }, { scope: 'tag', key: 'db', max_jobs: 2 }] }, 'caps.1.key'],
    ['too many caps', { caps: Array.from({ length: 201 }, (_, i) => ({ scope: 'tag', key: `t${i}`, max_jobs: 1 })) }, 'caps'],
    ['no list', { caps: 'fleet=1' }, 'caps'],
    ['prototype keys', JSON.parse('{"caps":[{"scope":"fleet","max_jobs":1,"__proto__":{"admin":true}}]}'), 'caps.0'],
  ];

  it.each(refused)('refuses %s (400, the field named, nothing stored)', async (_what, body, field) => {
    const before = (await h.admin.req('GET', '/api/caps')).body.items;
    const r = await h.admin.req('PUT', '/api/caps', body);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(Object.keys(r.body.error.fields ?? {})).toContain(field);
    expect(r.body.error.message).toContain(field);
    expect((await h.admin.req('GET', '/api/caps')).body.items).toEqual(before);
  });

  it('refuses a body that is not JSON', async () => {
    const r = await fetch(`${h.url}/api/caps`, { method: 'PUT', headers: { 'content-type': 'application/json', cookie: `rm_session=${h.admin.cookie}`, 'x-csrf-token': h.admin.csrf ?? '' }, body: '{"caps": [' });
    expect(r.status).toBe(400);
  });

  it('stores good caps; an unknown tag or backend key is kept and shown as unknown; the host\'s backend key is offered', async () => {
    const a = await enrolledAgent(h, 'tagged-host');
    expect((await h.admin.req('PUT', `/api/hosts/${a.hostId}/tags`, { tags: ['db'] })).status).toBe(200);
    const r = await h.admin.req('PUT', '/api/caps', { caps: [
      { scope: 'fleet', max_jobs: 1000 },
      { scope: 'tag', key: 'db', max_jobs: 2 },
      { scope: 'tag', key: 'nobody-has-this', max_jobs: 1 },
      { scope: 'backend', key: 'rest:127.0.0.1:8000', max_jobs: 3 },
      { scope: 'backend', key: 's3:unknown.example/bucket', max_jobs: 1 },
    ] });
    expect(r.status, r.text).toBe(200);
    const known = Object.fromEntries((r.body.items as { scope: string; key: string; known: boolean }[]).map((c) => [`${c.scope}:${c.key}`, c.known]));
    expect(known).toEqual({ 'fleet:': true, 'tag:db': true, 'tag:nobody-has-this': false, 'backend:rest:127.0.0.1:8000': true, 'backend:s3:unknown.example/bucket': false });
    expect(r.body.backend_keys).toContain('rest:127.0.0.1:8000');
    expect(r.body.tags).toContain('db');
    expect((await h.admin.req('PUT', '/api/caps', { caps: [] })).body.items).toEqual([]);
  });
});

describe("capped schedules: the agent's queued scheduled jobs get slot.grant in queue order", () => {
  const h = useHarness({ logLevel: 'warn' });
  const agents: FakeAgent[] = [];
  afterAll(async () => {
    for (const a of agents) await a.close();
  });

  /** A connected fake agent on a fresh host with one backup schedule; returns the schedule id. */
  const hostWithSchedule = async (name: string) => {
    const a = await enrolledAgent(h, name);
    agents.push(a.agent);
    await a.agent.connect();
    await a.agent.next('schedule.set');
    const sched = await h.admin.req('POST', `/api/hosts/${a.hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', time_zone: 'UTC', paths: ['/data'] });
    expect(sched.status, sched.text).toBe(201);
    await a.agent.next('schedule.set');
    return { ...a, scheduleId: sched.body.id as string };
  };
  const queuedFrame = (agent: FakeAgent, scheduleId: string) => {
    const id = randomUUID();
    agent.send({ type: 'job.queued', job_id: id, seq: agent.nextSeq(id), kind: 'backup', schedule_id: scheduleId, queued_at: new Date().toISOString(), awaiting_slot: true });
    return id;
  };

  it('marks schedules capped once a cap applies, grants the first, queues the second "1 ahead", grants it when the first ends', async () => {
    const one = await hostWithSchedule('sched-one');
    const two = await hostWithSchedule('sched-two');
    expect((await h.admin.req('PUT', '/api/caps', { caps: [{ scope: 'fleet', max_jobs: 1 }] })).status).toBe(200);
    for (const x of [one, two]) {
      const set = await x.agent.next('schedule.set');
      expect(set).toMatchObject({ type: 'schedule.set', schedules: [expect.objectContaining({ id: x.scheduleId, capped: true })] });
    }

    const first = queuedFrame(one.agent, one.scheduleId);
    expect(await one.agent.next('slot.grant')).toEqual({ type: 'slot.grant', job_id: first });
    one.agent.started(first, 'backup', one.scheduleId);
    const second = queuedFrame(two.agent, two.scheduleId);
    const fleet = async () => ((await h.admin.req('GET', '/api/queue')).body.caps as { scope: string; running: { job_id: string }[]; waiting: { job_id: string; ahead: number }[] }[]).find((c) => c.scope === 'fleet')!;
    await expect.poll(async () => (await fleet()).waiting.map((w) => [w.job_id, w.ahead])).toEqual([[second, 1]]);
    expect((await fleet()).running.map((r) => r.job_id)).toEqual([first]);
    // No grant reached the agent whose job waits.
    expect(two.agent.received.filter((m) => m.type === 'slot.grant')).toEqual([]);

    one.agent.finished(first, 'succeeded');
    expect(await two.agent.next('slot.grant')).toEqual({ type: 'slot.grant', job_id: second });
    // Asking again (as after a reconnect) while holding the slot gets the grant again.
    two.agent.send({ type: 'job.queued', job_id: second, seq: two.agent.nextSeq(second), kind: 'backup', schedule_id: two.scheduleId, queued_at: new Date().toISOString(), awaiting_slot: true });
    expect(await two.agent.next('slot.grant')).toEqual({ type: 'slot.grant', job_id: second });
    two.agent.finished(second, 'succeeded');
    await expect.poll(async () => (await fleet()).running).toEqual([]);
  });

  it('a scheduled job started without asking (an agent that predates caps) is counted: the next one waits', async () => {
    const old = await hostWithSchedule('sched-old');
    await h.admin.req('PUT', '/api/caps', { caps: [{ scope: 'fleet', max_jobs: 1 }] });
    const ran = randomUUID();
    old.agent.send({ type: 'job.started', job_id: ran, seq: old.agent.nextSeq(ran), kind: 'backup', schedule_id: old.scheduleId, started_at: new Date().toISOString() });
    const fleet = async () => ((await h.admin.req('GET', '/api/queue')).body.caps as { scope: string; running: { job_id: string }[] }[]).find((c) => c.scope === 'fleet')!;
    await expect.poll(async () => (await fleet()).running.map((r) => r.job_id)).toContain(ran);
    const next = await hostWithSchedule('sched-next');
    const waits = queuedFrame(next.agent, next.scheduleId);
    await expect.poll(async () => ((await h.admin.req('GET', '/api/queue')).body.caps[0].waiting as { job_id: string }[]).map((w) => w.job_id)).toContain(waits);
    old.agent.finished(ran, 'succeeded');
    expect(await next.agent.next('slot.grant')).toEqual({ type: 'slot.grant', job_id: waits });
    next.agent.finished(waits, 'succeeded');
  });

  it('a cancel of a scheduled job still waiting for its slot frees its place and reaches the agent', async () => {
    const three = await hostWithSchedule('sched-three');
    // Its first scheduled job runs (and holds the fleet slot); the second waits.
    const holder = randomUUID();
    three.agent.send({ type: 'job.started', job_id: holder, seq: three.agent.nextSeq(holder), kind: 'backup', schedule_id: three.scheduleId, started_at: new Date().toISOString() });
    await expect.poll(async () => ((await h.admin.req('GET', '/api/queue')).body.caps[0].running as { job_id: string }[]).map((r) => r.job_id)).toContain(holder);
    const waiting = queuedFrame(three.agent, three.scheduleId);
    await expect.poll(async () => ((await h.admin.req('GET', '/api/queue')).body.waiting_total as number)).toBeGreaterThan(0);
    const c = await h.admin.req('POST', `/api/jobs/${waiting}/cancel`);
    expect(c.status, c.text).toBeLessThan(300);
    expect(await three.agent.next('command.cancel')).toEqual({ type: 'command.cancel', job_id: waiting });
    const q = (await h.admin.req('GET', '/api/queue')).body;
    expect(JSON.stringify(q)).not.toContain(waiting);
  });
});

describe('the queue lives in the database', () => {
  it('a restarted server shows the same holders and waiting jobs, and sends the waiting one once the slot frees', async () => {
    let h = await startHarness({ logLevel: 'warn' });
    const dataDir = h.dataDir;
    const a = await enrolledAgent(h, 'restart-a');
    const b = await enrolledAgent(h, 'restart-b');
    try {
      await a.agent.connect();
      await b.agent.connect();
      expect((await h.admin.req('PUT', '/api/caps', { caps: [{ scope: 'fleet', max_jobs: 1 }] })).status).toBe(200);
      const first = await h.admin.req('POST', `/api/hosts/${a.hostId}/jobs`, { kind: 'check', args: {} });
      await a.agent.next('command.run');
      a.agent.started(first.body.job.id, 'check');
      const second = await h.admin.req('POST', `/api/hosts/${b.hostId}/jobs`, { kind: 'check', args: {} });
      expect(second.body.dispatched).toBe(false);
      const view = (q: { caps: { running: { job_id: string }[]; waiting: { job_id: string; ahead: number }[] }[] }) => ({ running: q.caps[0]!.running.map((r) => r.job_id), waiting: q.caps[0]!.waiting.map((w) => [w.job_id, w.ahead]) });
      const before = view((await h.admin.req('GET', '/api/queue')).body);
      expect(before).toEqual({ running: [first.body.job.id], waiting: [[second.body.job.id, 1]] });
      await a.agent.close();
      await b.agent.close();
      await h.server.close();

      // The same store (SQLite in the data dir, or the same PostgreSQL database under RM_TEST_STORE=postgres).
      h = await startHarness({ logLevel: 'warn', dataDir, ...(h.databaseUrl ? { databaseUrl: h.databaseUrl } : {}) });
      expect(view((await h.admin.req('GET', '/api/queue')).body)).toEqual(before);
      // Both agents come back (the first still running its job); it reports the job done: the second is sent.
      a.agent = new FakeAgent({ url: h.url, bearer: a.bearer, hostname: 'restart-a', activeJobIds: [first.body.job.id] });
      b.agent = new FakeAgent({ url: h.url, bearer: b.bearer, hostname: 'restart-b' });
      await a.agent.connect();
      await b.agent.connect();
      a.agent.nextSeq(first.body.job.id); // seq 0 was its job.started, before the restart
      a.agent.finished(first.body.job.id, 'succeeded');
      const run = await b.agent.next('command.run', 10_000);
      expect(run).toMatchObject({ type: 'command.run', job_id: second.body.job.id });
    } finally {
      await a.agent.close();
      await b.agent.close();
      await h.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
