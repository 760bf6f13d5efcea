import { describe, expect, it } from 'vitest';
import { enrolledAgent, useHarness } from './helpers/harness.js';

/*
 * The host time zone (migration 0006): set and cleared through the API, validated as an IANA
 * name, pushed to the agent as the zone of every schedule that has none of its own, and used
 * by the cron preview, the server-fired (forget/prune) clock and the overdue view.
 */
describe('host time zone', () => {
  const h = useHarness();

  it('validates the zone with a field error and changes nothing on a bad one', async () => {
    const { hostId } = await enrolledAgent(h, 'tz-bad');
    const v0 = (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.schedule_version;
    for (const bad of ['Mars/Olympus_Mons', '', 42]) {
      const r = await h.admin.req('PUT', `/api/hosts/${hostId}/time-zone`, { time_zone: bad });
      expect(r.status, String(bad)).toBe(400);
      expect(r.body.error.fields).toHaveProperty('time_zone');
    }
    expect((await h.admin.req('PUT', `/api/hosts/${hostId}/time-zone`, { time_zone: 'Mars/Olympus_Mons' })).body.error.fields.time_zone).toMatch(/IANA name/);
    const host = (await h.admin.req('GET', `/api/hosts/${hostId}`)).body;
    expect(host).toMatchObject({ time_zone: null, schedule_version: v0 });
    const sched = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'check', cron_expr: '0 3 * * *', time_zone: 'Mars/Olympus_Mons' });
    expect(sched.status).toBe(400);
    expect(sched.body.error.fields.time_zone).toMatch(/IANA name/);
  });

  it('is pushed as the zone of schedules without their own, bumps the version, and clears with null', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'tz-push');
    await agent.connect();
    await agent.next('schedule.set');
    const own = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'check', cron_expr: '0 5 * * *', time_zone: 'America/New_York' });
    const plain = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'check', cron_expr: '0 3 * * *' });
    expect(plain.status).toBe(201);
    await agent.next('schedule.set');
    const before = (await agent.next('schedule.set')) as { schedules: { id: string; time_zone?: string }[] };
    expect(before.schedules.find((s) => s.id === plain.body.id)?.time_zone).toBeUndefined();
    const v0 = (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.schedule_version as number;

    const set = await h.admin.req('PUT', `/api/hosts/${hostId}/time-zone`, { time_zone: 'Asia/Tokyo' });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ host_id: hostId, time_zone: 'Asia/Tokyo', schedule_version: v0 + 1 });
    const frame = (await agent.next('schedule.set')) as { schedule_version: number; schedules: { id: string; time_zone?: string }[] };
    expect(frame.schedule_version).toBe(v0 + 1);
    expect(frame.schedules.find((s) => s.id === plain.body.id)?.time_zone).toBe('Asia/Tokyo');
    expect(frame.schedules.find((s) => s.id === own.body.id)?.time_zone).toBe('America/New_York');
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body.time_zone).toBe('Asia/Tokyo');
    // the stored schedule itself keeps "no zone of its own"
    expect((await h.admin.req('GET', `/api/hosts/${hostId}/schedules`)).body.items.find((s: { id: string }) => s.id === plain.body.id).time_zone).toBeNull();
    const audit = (await h.admin.req('GET', `/api/audit?action=host.time_zone&target_id=${hostId}`)).body.items;
    expect(audit[0].payload).toMatchObject({ from: null, to: 'Asia/Tokyo' });

    expect((await h.admin.req('PUT', `/api/hosts/${hostId}/time-zone`, { time_zone: null })).body.time_zone).toBeNull();
    const cleared = (await agent.next('schedule.set')) as { schedules: { id: string; time_zone?: string }[] };
    expect(cleared.schedules.find((s) => s.id === plain.body.id)?.time_zone).toBeUndefined();
    await agent.close();
  });

  it('is the default zone of the cron preview and of the server-fired schedule clock', async () => {
    const { hostId } = await enrolledAgent(h, 'tz-preview');
    await h.admin.req('PUT', `/api/hosts/${hostId}/time-zone`, { time_zone: 'Asia/Tokyo' });
    const p = await h.admin.req('GET', `/api/schedules/preview?cron_expr=${encodeURIComponent('0 3 * * *')}&host_id=${hostId}`);
    expect(p.body.time_zone).toBe('Asia/Tokyo');
    for (const t of p.body.next as string[]) expect(t).toMatch(/T18:00:00\.000Z$/); // 03:00 in Tokyo (UTC+9)
    const explicit = await h.admin.req('GET', `/api/schedules/preview?cron_expr=${encodeURIComponent('0 3 * * *')}&host_id=${hostId}&time_zone=UTC`);
    expect(explicit.body.next[0]).toMatch(/T03:00:00\.000Z$/);

    // the server-fired clock (forget/prune) and the overdue view read the host's zone for schedules without one
    const { MaintenanceRepository } = await import('../src/repositories/maintenance.repository.js');
    await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'prune', cron_expr: '0 4 * * *' });
    const rows = await new MaintenanceRepository(h.server.db).enabledSchedules(['prune']);
    expect(rows.find((r) => r.host_id === hostId)).toMatchObject({ cron_expr: '0 4 * * *', time_zone: 'Asia/Tokyo' });
  });
});
