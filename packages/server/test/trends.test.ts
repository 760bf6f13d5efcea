import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { ADMIN_PASSWORD, Api, enrolledAgent, eventually, startHarness } from './helpers/harness.js';

const DAY = 86_400_000;

/** Trend recording from real frames over the agent WebSocket, compaction with the server's injectable clock, and the API's validation. */
describe('repository trends', () => {
  let h: Harness;
  // The server's clock starts at the real time (job.finished carries the agent's real finished_at),
  // an hour earlier at 23:xx UTC so the first test's points all fall on one UTC day.
  let clock = Date.now() - (new Date().getUTCHours() === 23 ? 3_600_000 : 0);
  let hostId = '';
  let agent: FakeAgent;
  let api: Api;
  const relogin = async () => {
    api = new Api(h.url);
    expect((await api.login('admin', ADMIN_PASSWORD)).status).toBe(200);
  };
  const series = async (q = '') => {
    // `until` past the real time: the default (the server's clock) may be earlier than a real finished_at.
    const r = await api.req('GET', `/api/hosts/${hostId}/trends${q}${q ? '&' : '?'}until=${new Date(Date.now() + 2 * DAY).toISOString()}`);
    expect(r.status, r.text).toBe(200);
    return Object.fromEntries((r.body.series as { metric: string; points: { ts: string; value: number; daily: boolean; samples: number }[] }[]).map((s) => [s.metric, s.points]));
  };

  beforeAll(async () => {
    h = await startHarness({}, { now: () => clock });
    api = h.admin;
    const e = await enrolledAgent(h);
    agent = e.agent;
    hostId = e.hostId;
    await agent.connect();
    await eventually(async () => (await api.req('GET', `/api/hosts/${hostId}`)).body.status === 'online');
  });
  afterAll(async () => {
    await agent.close();
    await h.close();
  });

  it('records repo.stats figures and a succeeded backup\'s added bytes, duration and files; a failed backup adds nothing', async () => {
    agent.send({ type: 'repo.stats', size_bytes: 1000, snapshot_count: 1, dedup_ratio: 1.5 });
    await eventually(async () => (await series('?metric=size_bytes')).size_bytes?.length === 1);
    clock += 20 * 60_000;
    agent.send({ type: 'repo.stats', size_bytes: 3000, snapshot_count: 2, dedup_ratio: 2 });
    // A check reports no figures: no points.
    agent.send({ type: 'repo.stats', size_bytes: null, snapshot_count: null, dedup_ratio: null, last_check_status: 'succeeded' });
    await eventually(async () => (await series('?metric=size_bytes')).size_bytes?.length === 2);

    for (const [status, stats] of [['succeeded', { dataAdded: 500, durationSeconds: 12.5, totalFilesProcessed: 42 }], ['failed', { dataAdded: 9999 }]] as const) {
      const run = await api.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: ['/etc'] } });
      expect(run.status).toBe(202);
      const jobId = run.body.job.id as string;
      await agent.next('command.run');
      agent.started(jobId, 'backup');
      agent.finished(jobId, status, { stats, ...(status === 'failed' ? { error: 'boom', error_kind: 'failed' } : {}) });
      await eventually(async () => (await api.req('GET', `/api/jobs/${jobId}`)).body.status === status);
    }

    const s = await series();
    expect(s.size_bytes?.map((p) => p.value)).toEqual([1000, 3000]);
    expect(s.snapshot_count?.map((p) => p.value)).toEqual([1, 2]);
    expect(s.dedup_ratio?.map((p) => p.value)).toEqual([1.5, 2]);
    expect(s.added_bytes?.map((p) => p.value)).toEqual([500]);
    expect(s.duration_seconds?.map((p) => p.value)).toEqual([12.5]);
    expect(s.files?.map((p) => p.value)).toEqual([42]);
    expect(s.size_bytes?.every((p) => !p.daily && p.samples === 1)).toBe(true);
    // Narrowing by metric returns only those series.
    const r = await api.req('GET', `/api/hosts/${hostId}/trends?metric=files,added_bytes`);
    expect(r.body.series.map((x: { metric: string }) => x.metric)).toEqual(['files', 'added_bytes']);

    const fleet = await api.req('GET', '/api/fleet/trends');
    expect(fleet.status).toBe(200);
    expect(fleet.body.points).toEqual([{ day: new Date(clock).toISOString().slice(0, 10), total_bytes: 3000, hosts: 1 }]);
  });

  it('folds raw points older than 30 days into one per day (last / sum / weighted mean) and drops them after the daily retention', async () => {
    const day0 = new Date(clock).toISOString().slice(0, 10);
    clock += 29 * DAY;
    expect(await h.server.services.trends.compact()).toEqual({ folded: 0, dropped: 0 });
    clock += 11 * DAY;
    const first = await h.server.services.trends.compact();
    expect(first.folded).toBe(9); // 2 x (size, snapshots, dedup) + added, duration, files
    await relogin();
    const since = `?since=${day0}`;
    let s = await series(since);
    expect(s.size_bytes).toEqual([{ ts: `${day0}T00:00:00.000Z`, value: 3000, daily: true, samples: 2 }]);
    expect(s.dedup_ratio?.map((p) => p.value)).toEqual([2]);
    expect(s.added_bytes).toEqual([{ ts: `${day0}T00:00:00.000Z`, value: 500, daily: true, samples: 1 }]);

    // A late backup of the same (old) day is merged into its aggregate on the next compaction.
    const job = { id: 'late', host_id: hostId, kind: 'backup', started_at: `${day0}T10:00:00.000Z` } as Parameters<typeof h.server.services.trends.recordBackup>[0];
    await h.server.services.trends.recordBackup(job, {
      type: 'job.finished', job_id: 'late', seq: 1, status: 'succeeded', exit_code: 0, error: null, error_kind: null,
      stats: { dataAdded: 700, durationSeconds: 27.5, totalFilesProcessed: 58 }, finished_at: `${day0}T10:00:30.000Z`,
    });
    expect((await h.server.services.trends.compact()).folded).toBe(3);
    s = await series(since);
    expect(s.added_bytes?.map((p) => [p.value, p.samples])).toEqual([[1200, 2]]);
    expect(s.duration_seconds?.map((p) => [p.value, p.samples])).toEqual([[20, 2]]);
    expect(s.files?.map((p) => [p.value, p.samples])).toEqual([[50, 2]]);

    clock += 3 * 365 * DAY;
    expect((await h.server.services.trends.compact()).dropped).toBe(6);
    await relogin();
    s = await series(`?since=${day0}`);
    expect(Object.values(s).every((p) => p.length === 0)).toBe(true);
    expect((await api.req('GET', `/api/fleet/trends?since=${day0}`)).body.points).toEqual([]);
  });

  it('refuses bad query strings with a message that says what was expected', async () => {
    const bad = async (p: string) => {
      const r = await api.req('GET', p);
      expect(r.status, `${p}: ${r.text}`).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      return r.body.error.message as string;
    };
    await relogin();
    expect(await bad(`/api/hosts/${hostId}/trends?since=yesterday`)).toMatch(/since.*ISO-8601 date such as 2026-11-01.*got 'yesterday'/);
    expect(await bad(`/api/hosts/${hostId}/trends?until=2026-13-45`)).toMatch(/until.*ISO-8601/);
    expect(await bad(`/api/hosts/${hostId}/trends?metric=size_bytes,inodes`)).toMatch(/unknown metric 'inodes': one of size_bytes, snapshot_count/);
    expect(await bad(`/api/hosts/${hostId}/trends?since=2026-02-01&until=2026-01-01`)).toMatch(/since \(2026-02-01T00:00:00.000Z\) is after until/);
    expect(await bad('/api/fleet/trends?since=1.1.2026')).toMatch(/ISO-8601/);
    expect(await bad('/api/fleet/trends?bogus=1')).toMatch(/bogus/);
    const missing = await api.req('GET', '/api/hosts/no-such-host/trends');
    expect(missing.status).toBe(404);
    const ok = await api.req('GET', `/api/hosts/${hostId}/trends?since=2026-01-01T00:00:00%2B02:00&until=2026-01-02`);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ since: '2025-12-31T22:00:00.000Z', until: '2026-01-02T00:00:00.000Z' });
  });
});
