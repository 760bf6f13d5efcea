import { describe, expect, it } from 'vitest';
import { enrolledAgent, eventually, useHarness } from './helpers/harness.js';

/*
 * Issue 22: what a check schedule reads of the pack data. Absent = rotate over 10 checks (the
 * agent picks part n); a rotation, a fixed subset or 0 (structure only) can be set; the fields
 * belong to check schedules only and travel to the agent in schedule.set.
 */
describe('check schedules read data', () => {
  const h = useHarness();

  it('stores and pushes read_data_rotation / read_data_subset; absent stays absent (the agent rotates over 10)', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'check-read');
    await agent.connect();
    await agent.next('schedule.set');
    const plain = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'check', cron_expr: '0 3 * * *' });
    const rotating = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'check', cron_expr: '0 4 * * *', read_data_rotation: 7 });
    const fixed = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'check', cron_expr: '0 5 * * *', read_data_subset: '5%' });
    for (const r of [plain, rotating, fixed]) expect(r.status, r.text).toBe(201);
    expect(plain.body).toMatchObject({ read_data_subset: null, read_data_rotation: null });
    expect(rotating.body).toMatchObject({ read_data_subset: null, read_data_rotation: 7 });
    expect(fixed.body).toMatchObject({ read_data_subset: '5%', read_data_rotation: null });
    const set = await eventually(async () => {
      const last = [...agent.received].reverse().find((m) => m.type === 'schedule.set') as { schedules: Record<string, unknown>[] } | undefined;
      return last && last.schedules.length === 3 ? last : null;
    });
    const byId = (id: string) => set.schedules.find((s) => s.id === id)!;
    expect(byId(plain.body.id)).not.toHaveProperty('read_data_rotation');
    expect(byId(plain.body.id)).not.toHaveProperty('read_data_subset');
    expect(byId(rotating.body.id)).toMatchObject({ read_data_rotation: 7 });
    expect(byId(fixed.body.id)).toMatchObject({ read_data_subset: '5%' });
    await agent.close();
  });

  it('refuses them on other kinds and bad values, naming the field, writing nothing', async () => {
    const { hostId } = await enrolledAgent(h, 'check-read-bad');
    const before = (await h.admin.req('GET', `/api/hosts/${hostId}/schedules`)).body.items.length as number;
    const onBackup = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/srv'], read_data_rotation: 5 });
    expect(onBackup.status).toBe(400);
    expect(onBackup.body.error.fields).toHaveProperty('read_data_subset');
    for (const bad of [{ read_data_rotation: -1 }, { read_data_rotation: 1001 }, { read_data_subset: 'all' }]) {
      const r = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'check', cron_expr: '0 3 * * *', ...bad });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(Object.keys(r.body.error.fields ?? {}).join(' ')).toMatch(/read_data_(rotation|subset)/);
    }
    expect((await h.admin.req('GET', `/api/hosts/${hostId}/schedules`)).body.items).toHaveLength(before);
  });
});
