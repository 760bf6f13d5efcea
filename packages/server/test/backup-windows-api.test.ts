import { describe, expect, it } from 'vitest';
import { enrolledAgent, eventually, useHarness } from './helpers/harness.js';

/*
 * Issue 21, backup windows: stored on schedules and tags, pushed in schedule.set (the schedule's
 * set first, then one per tag of the host), and refused when they never open or are malformed,
 * naming the field and writing nothing.
 */
describe('backup windows API', () => {
  const h = useHarness();
  const nights = { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '06:00', at_end: 'stop' }], blackouts: [{ from: '2026-12-24', to: '2026-12-26' }] };
  const lastSet = (agent: { received: unknown[] }, n: number) => eventually(async () => {
    const last = [...agent.received].reverse().find((m) => (m as { type: string }).type === 'schedule.set') as { schedules: Record<string, unknown>[]; schedule_version: number } | undefined;
    return last && last.schedules.length === n ? last : null;
  });

  it('stores schedule windows, shows them, and pushes them with the tag windows of the host', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'win-api');
    await agent.connect();
    await agent.next('schedule.set');
    const r = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 * * * *', paths: ['/srv'], windows: nights });
    expect(r.status, r.text).toBe(201);
    expect(r.body.windows).toEqual(nights);
    const plain = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'check', cron_expr: '0 3 * * *' });
    expect(plain.body.windows).toBeNull();
    let set = await lastSet(agent, 2);
    expect(set.schedules.find((s) => s.id === r.body.id)!.windows).toEqual([{ ...nights, source: 'schedule' }]);
    expect(set.schedules.find((s) => s.id === plain.body.id)).not.toHaveProperty('windows');

    // A tag window applies once the host carries the tag; changing the tags pushes a new set.
    const weekend = { windows: [{ days: ['sat', 'sun'], start: '00:00', end: '24:00', at_end: 'finish' }], blackouts: [] };
    const t = await h.admin.req('PUT', '/api/tag-windows/prod', weekend);
    expect(t.status, t.text).toBe(200);
    expect(t.body).toMatchObject({ tag: 'prod', ...weekend });
    expect((await h.admin.req('GET', '/api/tag-windows')).body.items).toEqual([expect.objectContaining({ tag: 'prod' })]);
    const before = set.schedule_version;
    expect((await h.admin.req('PUT', `/api/hosts/${hostId}/tags`, { tags: ['prod'] })).status).toBe(200);
    set = await eventually(async () => {
      const s = await lastSet(agent, 2);
      return s.schedule_version > before ? s : null;
    });
    expect(set.schedules.find((s) => s.id === plain.body.id)!.windows).toEqual([{ ...weekend, source: 'tag:prod' }]);
    expect((set.schedules.find((s) => s.id === r.body.id)!.windows as unknown[]).map((w) => (w as { source: string }).source)).toEqual(['schedule', 'tag:prod']);
    expect((await h.admin.req('DELETE', '/api/tag-windows/prod')).status).toBe(204);
    expect((await h.admin.req('DELETE', '/api/tag-windows/prod')).status).toBe(404);
    await agent.close();
  });

  it('refuses windows that never open and malformed times, naming the field, writing nothing', async () => {
    const { hostId } = await enrolledAgent(h, 'win-bad');
    const base = { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/srv'] };
    const cases: [unknown, string][] = [
      [{ windows: [{ days: [], start: '22:00', end: '06:00' }], blackouts: [] }, 'windows.windows.0.days'],
      [{ windows: [{ days: ['mon'], start: '22:00', end: '22:00' }], blackouts: [] }, 'windows.windows.0.end'],
      [{ windows: [{ days: ['mon'], start: '7pm', end: '22:00' }], blackouts: [] }, 'windows.windows.0.start'],
      [{ windows: [{ days: ['mon'], start: '20:00', end: '24:30' }], blackouts: [] }, 'windows.windows.0.end'],
      [{ windows: [], blackouts: [{ from: '2026-13-01' }] }, 'windows.blackouts.0.from'],
      [{ windows: [{ days: ['mon'], start: '20:00', end: '22:00' }], blackouts: [{ from: '2000-01-01', to: '2099-12-31' }] }, 'windows.blackouts'],
    ];
    for (const [windows, field] of cases) {
      const r = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { ...base, windows });
      expect(r.status, JSON.stringify(windows)).toBe(400);
      expect(Object.keys(r.body.error.fields ?? {}), r.text).toContain(field);
      expect(r.body.error.message).toContain(field);
    }
    const unknownDay = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { ...base, windows: { windows: [{ days: ['funday'], start: '20:00', end: '22:00' }], blackouts: [] } });
    expect(unknownDay.status).toBe(400);
    expect(unknownDay.text).toContain('windows');
    const never = await h.admin.req('PUT', '/api/tag-windows/prod', { windows: [{ days: ['sat'], start: '01:00', end: '02:00' }], blackouts: [{ from: '2000-01-01', to: '2099-12-31' }] });
    expect(never.status).toBe(400);
    expect(never.body.error.fields).toHaveProperty('windows.blackouts');
    expect((await h.admin.req('PUT', '/api/tag-windows/bad tag!', { windows: [], blackouts: [{ from: '2026-12-24' }] })).status).toBe(400);
    expect((await h.admin.req('GET', `/api/hosts/${hostId}/schedules`)).body.items).toHaveLength(0);
    expect((await h.admin.req('GET', '/api/tag-windows')).body.items).toHaveLength(0);
  });
});
