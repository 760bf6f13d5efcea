import { afterAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import { enrolledAgent, eventually, REPO, useHarness } from './helpers/harness.js';

/*
 * Restore drills on the server (issue 16) against a real server and database with fake agents:
 * what a drill sends, how its outcome is recorded, the alerts (restore_drill_failed,
 * restore_unproven on an injected clock), the metrics, agents that predate drills, and a
 * server-fired restore_drill schedule. The real agent and restic are in e2e/restore-drill.test.ts.
 */
const DAY = 86_400_000;

describe('restore drills', () => {
  let clock = Date.now();
  const h = useHarness({ sessionIdleMs: 60 * DAY, sessionAbsoluteMs: 90 * DAY }, { now: () => clock });
  const agents: FakeAgent[] = [];

  const host = async (name: string, features = ['restore_drill']) => {
    const e = await enrolledAgent(h, name, { ...REPO, url: `rest:http://127.0.0.1:8000/${name}/`, rest_username: name }, features);
    await e.agent.connect();
    agents.push(e.agent);
    return e;
  };
  /** Starts a drill through the API and lets the fake agent end it. */
  const drill = async (agent: FakeAgent, hostId: string, status: 'succeeded' | 'failed', extra: { error?: string; stats?: Record<string, unknown> } = {}) => {
    clock += 1000; // drills are listed newest first by creation time
    const r = await h.admin.req('POST', `/api/hosts/${hostId}/restore-drills`, { sample_files: 7, seed: 's1' });
    expect(r.status, r.text).toBe(202);
    const cmd = await agent.next('command.run') as { job_id: string; kind: string; args: Record<string, unknown> };
    expect(cmd.kind).toBe('restore_drill');
    agent.started(cmd.job_id, 'restore_drill');
    await agent.finishedApplied(cmd.job_id, status, extra);
    // The drill's row takes the outcome in a JobService.onEnded listener, after the agent's ack.
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}/restore-drills`)).body.recent[0]?.status === status);
    return cmd;
  };
  const open = async (hostId: string, kind: string) => (await h.server.services.fleet.alerts({ host_id: hostId, kind, open: true }, 50, 0)).items.filter((a) => !a.resolved_at);
  const stats = { snapshot_id: 'a'.repeat(64), files: 412, bytes: 5_000_000, duration_seconds: 3.5, restore_seconds: 2, throughput_bps: 2_500_000, snapshot_bytes: 6_150_000_000, snapshot_files: 90_000, rto_seconds: 2460, live_compared: 400, seed: 's1', snapshot_time: new Date().toISOString() };

  afterAll(async () => {
    for (const a of agents) await a.close();
  });

  it('a drill sends the sampling arguments, records the last proven restore, and exports its metrics', async () => {
    const { agent, hostId } = await host('drill-metrics');
    expect((await h.admin.req('GET', `/api/hosts/${hostId}/restore-drills`)).body).toEqual({ last_success: null, recent: [], vault: 'none' });
    const cmd = await drill(agent, hostId, 'succeeded', { stats });
    expect(cmd.args).toEqual({ hostname: 'drill-metrics', sample_files: 7, sample_bytes: 256 * 1024 * 1024, seed: 's1', compare_live: true });
    const sum = (await h.admin.req('GET', `/api/hosts/${hostId}/restore-drills`)).body;
    expect(sum.last_success).toMatchObject({ job_id: cmd.job_id, host_id: hostId, drill_host_id: hostId, status: 'succeeded', files: 412, bytes: 5_000_000, rto_seconds: 2460, engine: 'restic', error: null });
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/^restic_manager_last_restore_drill_status\{host="drill-metrics"\} 1$/m);
    expect(text).toMatch(/^restic_manager_last_restore_drill_duration_seconds\{host="drill-metrics"\} 3\.5$/m);
    expect(text).toMatch(/^restic_manager_last_restore_drill_timestamp_seconds\{host="drill-metrics"\} \d+/m);
    expect(text).toMatch(/^restic_manager_restore_rto_seconds\{host="drill-metrics",engine="restic"\} 2460$/m);
  });

  it('restore_drill_failed: a failed drill raises it (critical, naming the file); the next passing drill resolves it', async () => {
    const { agent, hostId } = await host('drill-fail');
    await drill(agent, hostId, 'failed', { error: 'restore drill of snapshot 1234abcd failed: file /srv/www/video.bin (ciphertext verification failed)' });
    // The alert follows the job's end (a JobService.onEnded listener), not the agent's ack.
    await eventually(async () => (await open(hostId, 'restore_drill_failed')).length === 1);
    const [a] = await open(hostId, 'restore_drill_failed');
    expect(a).toMatchObject({ severity: 'critical' });
    expect(a!.message).toMatch(/^restore drill job [0-9a-f-]{36} of drill-fail \(on the host itself\) failed: .*\/srv\/www\/video\.bin \(ciphertext verification failed\)$/);
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/^restic_manager_last_restore_drill_status\{host="drill-fail"\} 0$/m);
    await drill(agent, hostId, 'succeeded', { stats });
    await eventually(async () => (await open(hostId, 'restore_drill_failed')).length === 0);
  });

  it('restore_unproven: a drilled host with no successful drill within the configured days raises it; a passing drill resolves it', async () => {
    const { agent, hostId } = await host('drill-stale');
    await drill(agent, hostId, 'succeeded', { stats });
    expect((await h.admin.req('PUT', '/api/alert-settings', { restore_unproven_days: 3 })).status).toBe(200);
    clock += 2 * DAY;
    await h.server.services.alertRules.tick();
    expect(await open(hostId, 'restore_unproven')).toEqual([]);
    clock += 2 * DAY;
    await h.server.services.alertRules.tick();
    const [a] = await open(hostId, 'restore_unproven');
    expect(a!.message).toMatch(/^no successful restore drill of drill-stale within 3 days \(last proven restore \d{4}-/);
    await drill(agent, hostId, 'succeeded', { stats });
    await eventually(async () => (await open(hostId, 'restore_unproven')).length === 0);
  });

  it('refuses a drill on an agent that predates drills, an unknown drill host, and the generic run-now of restore_drill', async () => {
    const { hostId } = await host('drill-old', ['copy']);
    const old = await h.admin.req('POST', `/api/hosts/${hostId}/restore-drills`, {});
    expect(old.status).toBe(409);
    expect(old.body.error.message).toMatch(/predates restore drills: upgrade it/);
    const { hostId: ok } = await host('drill-ok');
    const unknown = await h.admin.req('POST', `/api/hosts/${ok}/restore-drills`, { drill_host_id: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields).toEqual({ drill_host_id: 'unknown host' });
    expect((await h.admin.req('POST', `/api/hosts/${ok}/restore-drills`, { sample_files: 0 })).status).toBe(400);
  });

  it('drills by tag: every enrolled host with the tag, the ones that cannot be drilled listed with the reason', async () => {
    const one = await host('tag-one');
    const two = await host('tag-two');
    const old = await host('tag-old', ['copy']);
    for (const x of [one, two, old]) expect((await h.admin.req('PUT', `/api/hosts/${x.hostId}/tags`, { tags: ['web'] })).status).toBe(200);
    const r = await h.admin.req('POST', '/api/restore-drills', { tag: 'web', sample_files: 3 });
    expect(r.status, r.text).toBe(202);
    expect(r.body.jobs.map((j: { host_id: string }) => j.host_id).sort()).toEqual([one.hostId, two.hostId].sort());
    expect(r.body.refused).toEqual([{ host_id: old.hostId, host: 'tag-old', error: expect.stringMatching(/predates restore drills/) }]);
    for (const x of [one, two]) expect(await x.agent.next('command.run')).toMatchObject({ kind: 'restore_drill', args: { sample_files: 3 } });
    const none = await h.admin.req('POST', '/api/restore-drills', { tag: 'nothing-has-it' });
    expect(none.status).toBe(400);
    expect(none.body.error.fields).toEqual({ tag: 'no enrolled host has it' });
  });

  it('a restore_drill schedule is fired by the server (never sent to the agent) and its job names the schedule', async () => {
    const { agent, hostId } = await host('drill-sched');
    const sc = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'restore_drill', cron_expr: '0 * * * *' });
    expect(sc.status, sc.text).toBe(201);
    const set = await agent.next('schedule.set') as { schedules: { kind: string }[] };
    expect(set.schedules.some((s) => s.kind === 'restore_drill')).toBe(false);
    const bad = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'restore_drill', cron_expr: '0 * * * *', paths: ['/etc'] });
    expect(bad.status).toBe(400);
    clock += 2 * 3_600_000;
    const ids = await h.server.services.maintenanceScheduler.tick();
    expect(ids).toHaveLength(1);
    const cmd = await agent.next('command.run') as { job_id: string; kind: string };
    expect(cmd).toMatchObject({ job_id: ids[0], kind: 'restore_drill' });
    expect((await h.server.services.jobs.get(cmd.job_id)).schedule_id).toBe(sc.body.id);
  });
});
