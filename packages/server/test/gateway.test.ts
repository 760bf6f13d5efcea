import { describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { enrolledAgent, eventually, startHarness, useHarness } from './helpers/harness.js';

describe('agent gateway', () => {
  const h = useHarness({}, { minAgentProtocolVersion: 2, helloTimeoutMs: 500 });

  const job = async (id: string) => (await h.admin.req('GET', `/api/jobs/${id}`)).body;
  const connected = async (name: string) => {
    const e = await enrolledAgent(h, name);
    e.agent.o.protocolVersion = 2;
    await e.agent.connect();
    await e.agent.next('schedule.set');
    return e;
  };

  it('refuses an unknown bearer at the upgrade with 401', async () => {
    const a = new FakeAgent({ url: h.url, bearer: 'x'.repeat(43) });
    await expect(a.open()).rejects.toThrow(/HTTP 401/);
  });

  it('closes agents below the minimum protocol with protocol_too_old and the upgrade URL', async () => {
    const { agent } = await enrolledAgent(h, 'old-agent');
    agent.o.protocolVersion = 1;
    await agent.open();
    agent.send({ type: 'hello', protocol_version: 1, agent_version: '0.0.1', restic_version: null, hostname: 'old', os: 'linux', arch: 'x64' });
    const err = await agent.next('error');
    expect(err).toMatchObject({ code: 'protocol_too_old', upgrade_url: `${h.url}/docs/upgrade` });
    expect((await agent.closed).code).toBe(4000);
  });

  it('requires hello first (error frame + close 4002), and closes silent sockets after the hello timeout', async () => {
    const { agent } = await enrolledAgent(h, 'no-hello');
    await agent.open();
    agent.heartbeat();
    expect(await agent.next('error')).toMatchObject({ code: 'expected_hello' });
    expect((await agent.closed).code).toBe(4002);
    const silent = new FakeAgent({ url: h.url, bearer: agent.o.bearer });
    await silent.open();
    expect((await silent.closed).code).toBe(4002);
  });

  it('applies replayed job events once (idempotent by job_id and seq)', async () => {
    const { agent, hostId } = await connected('replay');
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'check', args: {} });
    const id = run.body.job.id as string;
    await agent.next('command.run');
    const frames = [
      { type: 'job.started', job_id: id, seq: 0, kind: 'check', started_at: new Date().toISOString() },
      { type: 'log.stream', job_id: id, seq: 1, ts: new Date().toISOString(), stream: 'stdout', payload: 'line one' },
      { type: 'job.finished', job_id: id, seq: 2, status: 'succeeded', exit_code: 0, stats: null, error: null, finished_at: new Date().toISOString() },
    ];
    for (const f of frames) agent.send(f);
    await eventually(async () => (await job(id)).status === 'succeeded');
    const before = await job(id);
    // Reconnect and replay everything, including a finished with a different status.
    await agent.close();
    const again = new FakeAgent({ url: h.url, bearer: agent.o.bearer, protocolVersion: 2 });
    await again.connect();
    for (const f of frames) again.send(f);
    again.send({ ...frames[2], status: 'failed' });
    again.heartbeat();
    await new Promise((r) => setTimeout(r, 200));
    expect(await job(id)).toEqual(before);
    expect((await h.admin.req('GET', `/api/jobs/${id}/logs`)).body.items).toHaveLength(1);
    await again.close();
  });

  it('fails a dispatched job with agent_lost when the agent reconnects without it', async () => {
    const { agent, hostId } = await connected('lost');
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: ['/srv'] } });
    const id = run.body.job.id as string;
    await agent.next('command.run');
    agent.started(id, 'backup');
    await eventually(async () => (await job(id)).status === 'running');
    await agent.close();
    const back = new FakeAgent({ url: h.url, bearer: agent.o.bearer, protocolVersion: 2, activeJobIds: [] });
    await back.connect();
    const j = await eventually(async () => ((await job(id)).status === 'failed' ? job(id) : null));
    expect(j).toMatchObject({ error_kind: 'agent_lost' });
    expect(j.error).toMatch(/reconnected without this job/);
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body).toMatchObject({ current_job_id: null, last_backup_status: 'failed', open_alert_count: 0 });
    await back.close();
  });

  it('sends a dispatched job that never started again once when the agent reconnects without it (a command lost in flight); a second loss fails it', async () => {
    const { agent, hostId } = await connected('in-flight');
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'stats', args: {} });
    const id = run.body.job.id as string;
    await agent.next('command.run'); // "lost": the agent never starts it
    await agent.close();
    const back = new FakeAgent({ url: h.url, bearer: agent.o.bearer, protocolVersion: 2, activeJobIds: [] });
    await back.connect();
    expect(await back.next('command.run')).toMatchObject({ job_id: id, kind: 'stats' });
    expect((await job(id)).status).toBe('queued');
    await back.close();
    const third = new FakeAgent({ url: h.url, bearer: agent.o.bearer, protocolVersion: 2, activeJobIds: [] });
    await third.connect();
    const j = await eventually(async () => ((await job(id)).status === 'failed' ? job(id) : null));
    expect(j).toMatchObject({ error_kind: 'agent_lost' });
    expect(j.error).toMatch(/reconnected twice without this job/);
    await third.close();
  });

  it('a job run while the agent is connecting (socket open, hello not yet exchanged) waits and goes out after the server hello', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'connecting');
    agent.o.protocolVersion = 2;
    await agent.open();
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'stats', args: {} });
    expect(run.status).toBe(202);
    expect(run.body.job.status).toBe('queued');
    agent.send({ type: 'hello', protocol_version: 2, agent_version: '0.0.0-fake', restic_version: '0.14.0', hostname: 'connecting', os: 'linux', arch: 'x64', active_job_ids: [] });
    // an agent ignores frames before the server's hello: the command must come after it
    expect((await agent.next()).type).toBe('hello');
    const cmd = await agent.next('command.run');
    expect(cmd).toMatchObject({ job_id: run.body.job.id });
    await agent.close();
  });

  it('keeps a job the agent still reports as active', async () => {
    const { agent, hostId } = await connected('kept');
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'stats', args: {} });
    const id = run.body.job.id as string;
    await agent.next('command.run');
    agent.started(id, 'stats');
    await eventually(async () => (await job(id)).status === 'running');
    await agent.close();
    const back = new FakeAgent({ url: h.url, bearer: agent.o.bearer, protocolVersion: 2, activeJobIds: [id] });
    await back.connect();
    await back.next('schedule.set');
    expect((await job(id)).status).toBe('running');
    await back.close();
  });

  it('creates jobs the agent scheduler started (schedule_id) and rejects unknown or foreign jobs without writing', async () => {
    const { agent, hostId } = await connected('sched');
    const other = await connected('other');
    const sched = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/srv'] });
    await agent.next('schedule.set');
    const jid = crypto.randomUUID();
    agent.started(jid, 'backup', sched.body.id);
    const created = await eventually(async () => {
      const r = await h.admin.req('GET', `/api/jobs/${jid}`);
      return r.status === 200 ? r.body : null;
    });
    expect(created).toMatchObject({ host_id: hostId, status: 'running', actor_kind: 'schedule', schedule_id: sched.body.id });
    const ghost = crypto.randomUUID();
    agent.send({ type: 'job.started', job_id: ghost, seq: 0, kind: 'backup', started_at: new Date().toISOString() });
    expect(await agent.next('error')).toMatchObject({ code: 'not_found' });
    expect((await h.admin.req('GET', `/api/jobs/${ghost}`)).status).toBe(404);
    other.agent.finished(jid, 'failed');
    expect(await other.agent.next('error')).toMatchObject({ code: 'forbidden' });
    expect((await job(jid)).status).toBe('running');
    await agent.close();
    await other.agent.close();
  });

  it('queues run-now for an offline host and dispatches it on hello; cancel sends command.cancel', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'offline');
    agent.o.protocolVersion = 2;
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'unlock', args: {} });
    expect(run.body).toMatchObject({ dispatched: false, job: { status: 'queued' } });
    const queued2 = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'check', args: {} });
    const cancelled = await h.admin.req('POST', `/api/jobs/${queued2.body.job.id}/cancel`);
    expect(cancelled.body).toMatchObject({ sent: false, job: { status: 'cancelled' } });
    await agent.connect();
    const cmd = await agent.next('command.run');
    expect(cmd).toMatchObject({ job_id: run.body.job.id, kind: 'unlock' });
    expect(agent.received.filter((m) => m.type === 'command.run')).toHaveLength(0);
    const c = await h.admin.req('POST', `/api/jobs/${run.body.job.id}/cancel`);
    expect(c.body.sent).toBe(true);
    expect(await agent.next('command.cancel')).toEqual({ type: 'command.cancel', job_id: run.body.job.id });
    await agent.close();
  });

  it('pushes schedule.set on change and records schedule.ack; a second connection replaces the first', async () => {
    const { agent, hostId } = await connected('schedules');
    const s = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/home'], pre_hook: 'pg_dump db > /tmp/x' });
    expect(s.status).toBe(201);
    expect(s.body).toMatchObject({ has_pre_hook: true, has_post_hook: false });
    expect(s.body).not.toHaveProperty('pre_hook');
    const set = await agent.next('schedule.set');
    expect(set).toMatchObject({ schedule_version: 1, schedules: [{ id: s.body.id, cron_expr: '0 3 * * *', pre_hook: 'pg_dump db > /tmp/x' }] });
    agent.send({ type: 'schedule.ack', schedule_version: 1 });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.applied_schedule_version === 1);
    const bad = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'prune', cron_expr: 'not a cron' });
    expect(bad.status).toBe(400);
    const hookOnPrune = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'prune', cron_expr: '0 4 * * 0', post_hook: 'echo hi' });
    expect(hookOnPrune.body.error.message).toMatch(/only allowed on backup/);
    const second = new FakeAgent({ url: h.url, bearer: agent.o.bearer, protocolVersion: 2 });
    await second.connect();
    expect((await agent.closed).code).toBe(4003);
    await second.close();
  });
});

describe('agent heartbeat timeout', () => {
  it('closes a silent agent with 4005 and marks the host offline', async () => {
    const h = await startHarness({ agentTimeoutMs: 600 });
    try {
      const { agent, hostId } = await enrolledAgent(h, 'quiet');
      await agent.connect();
      await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.status === 'online');
      expect((await agent.closed).code).toBe(4005);
      await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.status === 'offline');
    } finally {
      await h.close();
    }
  });
});
