import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import { AGENT_JOB_LIMITS } from '../src/services/agent-job-limits.js';
import type { Harness } from './helpers/harness.js';
import { ADMIN_PASSWORD, enrolledAgent, eventually, startHarness } from './helpers/harness.js';

/*
 * Issue 13 finding 3: an agent may create jobs only under its own host's schedules, and only a
 * bounded number. A report under another host's schedule must neither create a job nor hide that
 * host's overdue backup (GET /api/schedules/overdue and the backup_overdue alert).
 */
const HOUR = 3_600_000;

describe('agent-created jobs', () => {
  let h: Harness;
  let clock = Date.now();
  const agents: FakeAgent[] = [];
  const connected = async (name: string) => {
    const e = await enrolledAgent(h, name);
    await e.agent.connect();
    await e.agent.next('schedule.set');
    agents.push(e.agent);
    return e;
  };
  /** Moves the server clock; the admin signs in again (a session idles out over hours). */
  const advance = async (ms: number) => {
    clock += ms;
    await h.admin.login('admin', ADMIN_PASSWORD);
  };
  const job = (id: string) => h.admin.req('GET', `/api/jobs/${id}`);
  const overdueIds = async () => ((await h.admin.req('GET', '/api/schedules/overdue')).body.items as { schedule_id: string }[]).map((i) => i.schedule_id);

  beforeAll(async () => {
    h = await startHarness({}, { now: () => clock });
  });
  afterAll(async () => {
    for (const a of agents) await a.close();
    await h.close();
  });

  it("refuses a run reported under another host's schedule; that host's backup stays overdue", async () => {
    const a = await enrolledAgent(h, 'victim-a');
    const sched = await h.admin.req('POST', `/api/hosts/${a.hostId}/schedules`, { kind: 'backup', cron_expr: '0 * * * *', time_zone: 'UTC', paths: ['/data'] });
    expect(sched.status, sched.text).toBe(201);
    await advance(4 * HOUR);
    expect(await overdueIds()).toContain(sched.body.id);
    await h.server.services.alertRules.tick();
    const alertOf = async () => (await h.server.services.fleet.alerts({ host_id: a.hostId, kind: 'backup_overdue' }, 10, 0)).items.filter((x) => !x.resolved_at);
    expect(await alertOf()).toHaveLength(1);

    const c = await connected('intruder-c');
    const jid = randomUUID();
    const at = new Date(clock).toISOString();
    c.agent.send({ type: 'job.started', job_id: jid, seq: 0, kind: 'backup', started_at: at, schedule_id: sched.body.id });
    expect(await c.agent.next('error')).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/schedule .* does not belong to this host/) });
    c.agent.send({ type: 'job.finished', job_id: jid, seq: 1, status: 'succeeded', exit_code: 0, stats: null, error: null, error_kind: null, finished_at: at });
    expect(await c.agent.next('error')).toMatchObject({ code: 'not_found' });
    c.agent.send({ type: 'job.queued', job_id: randomUUID(), seq: 0, kind: 'backup', queued_at: at, schedule_id: 'no-such-schedule' });
    expect(await c.agent.next('error')).toMatchObject({ code: 'forbidden' });

    expect((await job(jid)).status).toBe(404);
    expect((await h.admin.req('GET', `/api/jobs?host_id=${c.hostId}`)).body.total).toBe(0);
    expect(await overdueIds()).toContain(sched.body.id);
    await h.server.services.alertRules.tick();
    expect(await alertOf()).toHaveLength(1);
    expect(h.logs()).toMatch(/agent job refused: schedule is not this host's/);
  });

  it("counts only the schedule's own host's jobs as runs of it (a foreign job row cannot hide an overdue backup)", async () => {
    const a = await enrolledAgent(h, 'victim-b');
    const c = await enrolledAgent(h, 'intruder-d');
    const sched = await h.admin.req('POST', `/api/hosts/${a.hostId}/schedules`, { kind: 'backup', cron_expr: '0 * * * *', time_zone: 'UTC', paths: ['/data'] });
    await advance(4 * HOUR);
    // A row as an older server would have stored it: host D's job under host A's schedule.
    const at = new Date(clock).toISOString();
    const row = { host_id: c.hostId, kind: 'backup', schedule_id: sched.body.id, actor_kind: 'schedule' as const, actor_id: sched.body.id, args_enc: null, created_at: at, started_at: at, finished_at: null, exit_code: null, stats: null, error: null, error_kind: null, progress: null, progress_seq: null, dispatched_at: at };
    await h.server.db.insertInto('jobs').values({ ...row, id: randomUUID(), status: 'running' }).execute();
    await h.server.db.insertInto('jobs').values({ ...row, id: randomUUID(), status: 'succeeded', finished_at: at }).execute();
    expect(await overdueIds()).toContain(sched.body.id);
    await h.server.services.alertRules.tick();
    expect((await h.server.services.fleet.alerts({ host_id: a.hostId, kind: 'backup_overdue' }, 10, 0)).items.filter((x) => !x.resolved_at)).toHaveLength(1);
  });

  it('caps the jobs an agent may create: of the schedule\'s kind only, at most the limit queued or running at once', async () => {
    const { agent, hostId } = await connected('busy-e');
    const sched = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/data'] });
    await agent.next('schedule.set');
    const wrongKind = randomUUID();
    agent.started(wrongKind, 'prune', sched.body.id);
    expect(await agent.next('error')).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/runs backup jobs, not prune/) });
    expect((await job(wrongKind)).status).toBe(404);
    const max = AGENT_JOB_LIMITS.maxActivePerHost;
    for (let i = 0; i < max; i++) agent.started(randomUUID(), 'backup', sched.body.id);
    const over = randomUUID();
    agent.started(over, 'backup', sched.body.id);
    expect(await agent.next('error')).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(new RegExp(`${max} jobs of this host are already queued or running`)) });
    expect((await job(over)).status).toBe(404);
    expect((await h.admin.req('GET', `/api/jobs?host_id=${hostId}&status=running`)).body.total).toBe(max);
  });

  it('caps the rate at which an agent creates jobs (a token bucket per host)', async () => {
    const { agent, hostId } = await connected('churn-f');
    const sched = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/data'] });
    await agent.next('schedule.set');
    const burst = AGENT_JOB_LIMITS.createBurst;
    for (let i = 0; i < burst; i++) {
      const id = randomUUID();
      agent.started(id, 'backup', sched.body.id);
      agent.finished(id, 'succeeded');
    }
    const over = randomUUID();
    agent.started(over, 'backup', sched.body.id);
    expect(await agent.next('error', 20_000)).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/more than \d+ jobs/) });
    expect((await h.admin.req('GET', `/api/jobs?host_id=${hostId}`)).body.total).toBe(burst);
    // The bucket refills with time: one job per refill interval is accepted again.
    await advance(AGENT_JOB_LIMITS.refillEveryMs);
    const later = randomUUID();
    agent.started(later, 'backup', sched.body.id);
    await eventually(async () => (await job(later)).status === 200);
  }, 60_000);
});
