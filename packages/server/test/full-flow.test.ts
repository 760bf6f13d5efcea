import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, eventually, startHarness } from './helpers/harness.js';
import { storeEngines } from './helpers/stores.js';

const engines = storeEngines();
afterAll(async () => {
  for (const e of engines) await e.stop();
});

const SNAP = 'a'.repeat(64);

describe.each(engines)('full run over HTTP and WebSocket ($name store)', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    if (engine.skip) return;
    h = await startHarness({ databaseUrl: await engine.databaseUrl() });
  }, 120_000);
  afterAll(async () => {
    if (!engine.skip) await h.close();
  });

  it.skipIf(engine.skip !== null)('enroll -> hello -> run-now backup -> progress -> finished -> snapshots.report -> visible in the API', async () => {
    expect(h.logs()).toContain(`"store":"${engine.name}"`);
    const { agent, hostId, add } = await enrolledAgent(h);
    expect(add.generated_password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(add.htpasswd_line).toContain('htpasswd -B -i');
    const hello = await agent.connect();
    expect(hello).toMatchObject({ type: 'hello', host_id: hostId, protocol_version: 1 });
    const cfg = await agent.next('config.update');
    expect(cfg).toMatchObject({ type: 'config.update', repository: 'rest:http://127.0.0.1:8000/host-a/', password: add.generated_password, rest_username: 'host-a' });
    expect(await agent.next('schedule.set')).toMatchObject({ schedule_version: 0, schedules: [] });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.status === 'online');

    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: ['/etc'] } });
    expect(run.status).toBe(202);
    expect(run.body.dispatched).toBe(true);
    const cmd = await agent.next('command.run');
    expect(cmd).toMatchObject({ type: 'command.run', job_id: run.body.job.id, kind: 'backup', args: { paths: ['/etc'] } });
    const jobId = run.body.job.id as string;

    agent.started(jobId, 'backup');
    await eventually(async () => (await h.admin.req('GET', `/api/jobs/${jobId}`)).body.status === 'running');
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body.current_job_id).toBe(jobId);
    agent.progress(jobId, 0.5);
    agent.logLine(jobId, 'processed 50 files');
    agent.finished(jobId, 'succeeded', { stats: { files_new: 3 } });
    agent.send({ type: 'snapshots.report', snapshots: [{ id: SNAP, time: '2026-01-01T00:00:00Z', hostname: 'host-a', paths: ['/etc'], tags: ['daily'] }] });
    agent.send({ type: 'repo.stats', size_bytes: 1234, snapshot_count: 1, dedup_ratio: 1.5, lock_state: 'unlocked' });

    const job = await eventually(async () => {
      const j = await h.admin.req('GET', `/api/jobs/${jobId}`);
      return j.body.status === 'succeeded' ? j.body : null;
    });
    expect(job.stats).toEqual({ files_new: 3 });
    const snaps = await eventually(async () => {
      const s = await h.admin.req('GET', `/api/hosts/${hostId}/snapshots`);
      return s.body.total === 1 ? s.body : null;
    });
    expect(snaps.items[0]).toMatchObject({ id: SNAP, short_id: SNAP.slice(0, 8), paths: ['/etc'], tags: ['daily'] });
    const host = await eventually(async () => {
      const r = await h.admin.req('GET', `/api/hosts/${hostId}`);
      return r.body.repo_size_bytes === 1234 ? r.body : null;
    });
    expect(host).toMatchObject({ last_backup_status: 'succeeded', snapshot_count: 1, current_job_id: null, status: 'online' });
    expect(host.repo_initialised_at).not.toBeNull();
    const logs = await h.admin.req('GET', `/api/jobs/${jobId}/logs`);
    expect(logs.body.items.map((l: { payload: string }) => l.payload)).toEqual(['processed 50 files']);
    const repo = await h.admin.req('GET', `/api/hosts/${hostId}/repo`);
    expect(repo.body).toMatchObject({ size_bytes: 1234, dedup_ratio: 1.5, has_password: true, rest_username: 'host-a', snapshot_count: 1 });
    await agent.close();
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.status === 'offline');
  });
});
