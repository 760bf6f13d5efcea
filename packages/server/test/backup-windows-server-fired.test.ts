import { afterAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import { enrolledAgent, eventually, useHarness } from './helpers/harness.js';

/*
 * Issue 21, server-fired schedules (forget/prune; vault and restore_drill use the same gate):
 * a fire outside the backup window creates the job queued and says until when, does not send
 * it, and sends it when the window opens, with the `stop` window's end as command.run.stop_at.
 * The clock is injected.
 */
const DAY = 86_400_000;

describe('backup windows on server-fired schedules', () => {
  let clock = Date.parse('2026-12-02T11:00:00Z'); // a Wednesday
  const h = useHarness({ sessionIdleMs: 60 * DAY, sessionAbsoluteMs: 90 * DAY }, { now: () => clock });
  const agents: FakeAgent[] = [];

  afterAll(async () => {
    for (const a of agents) await a.close();
  });

  it('a prune fired outside its window waits queued (starts_at shown) and is sent at the opening with stop_at', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'win-prune', { url: '/srv/restic/win-prune' });
    await agent.connect();
    agents.push(agent);
    const windows = { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '06:00', at_end: 'stop' }], blackouts: [] };
    const sc = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'prune', cron_expr: '0 * * * *', time_zone: 'UTC', windows });
    expect(sc.status, sc.text).toBe(201);
    clock = Date.parse('2026-12-02T12:00:30Z');
    const [id] = await h.server.services.maintenanceScheduler.tick();
    expect(id).toBeDefined();
    const job = await h.server.services.jobs.get(id!);
    expect(job).toMatchObject({ status: 'queued', schedule_id: sc.body.id, progress: { waiting_for_window: true, starts_at: '2026-12-02T22:00:00.000Z' } });
    // Later fires while it waits are skipped; nothing reaches the agent before 22:00.
    clock = Date.parse('2026-12-02T21:00:30Z');
    expect(await h.server.services.maintenanceScheduler.tick()).toEqual([]);
    expect(agent.received.some((m) => (m as { type: string }).type === 'command.run')).toBe(false);
    clock = Date.parse('2026-12-02T22:00:10Z');
    await h.server.services.maintenanceScheduler.tick();
    const cmd = await agent.next('command.run') as { job_id: string; kind: string; stop_at?: string };
    expect(cmd).toMatchObject({ job_id: id, kind: 'prune', stop_at: '2026-12-03T06:00:00.000Z' });
    await eventually(async () => (await h.server.services.jobs.get(id!)).progress === null);
  });

  it('a held job follows the current windows of its schedule: moved later, it is not sent at the old opening', async () => {
    clock = Date.parse('2026-12-09T11:00:00Z'); // a Wednesday
    const { agent, hostId } = await enrolledAgent(h, 'win-move', { url: '/srv/restic/win-move' });
    await agent.connect();
    agents.push(agent);
    const at = (start: string, end: string) => ({ windows: [{ days: ['wed'], start, end, at_end: 'finish' }], blackouts: [] });
    const body = { kind: 'prune', cron_expr: '0 * * * *', time_zone: 'UTC' };
    const sc = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { ...body, windows: at('20:00', '21:00') });
    expect(sc.status, sc.text).toBe(201);
    clock = Date.parse('2026-12-09T12:00:30Z');
    const [id] = await h.server.services.maintenanceScheduler.tick();
    expect((await h.server.services.jobs.get(id!)).progress).toEqual({ waiting_for_window: true, starts_at: '2026-12-09T20:00:00.000Z' });
    expect((await h.admin.req('PUT', `/api/schedules/${sc.body.id}`, { ...body, windows: at('23:00', '23:30') })).status).toBe(200);
    clock = Date.parse('2026-12-09T20:00:30Z');
    await h.server.services.maintenanceScheduler.tick();
    expect((await h.server.services.jobs.get(id!)).progress).toEqual({ waiting_for_window: true, starts_at: '2026-12-09T23:00:00.000Z' });
    expect(agent.received.some((m) => (m as { type: string }).type === 'command.run')).toBe(false);
    clock = Date.parse('2026-12-09T23:00:30Z');
    await h.server.services.maintenanceScheduler.tick();
    const cmd = await agent.next('command.run') as { job_id: string; stop_at?: string };
    expect(cmd.job_id).toBe(id);
    expect(cmd).not.toHaveProperty('stop_at'); // a finish window sends no stop time
  });
});
