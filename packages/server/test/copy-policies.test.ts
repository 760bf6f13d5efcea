import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRun } from '@restic-manager/protocol';
import { answerLog } from './helpers/answers.js';
import { useConnectedAgent } from './helpers/connected-agent.js';
import { REPO, enrolledAgent, eventually, useHarness } from './helpers/harness.js';

/*
 * Copy policies (3-2-1, issue 15, docs/copies.md): CRUD and every refusal (nothing written),
 * the copy queued after a successful backup (never after a failed one) with the source and
 * target configs in command.run, scheduled copies on the injected clock, the per-host status
 * (never → up_to_date → behind → failing → up_to_date), the copy alerts, the metrics, and no
 * secret of either repository in responses, audit payloads or logs.
 */
const HOUR = 3_600_000;
const S3_SECRET = 'copy-s3-secret-MARKER-5e2a';
const S3_KEY = 'AKIA-COPY-MARKER-77b0';
const TARGET_PW = 'copy-target-password-MARKER-19cd';
const LOCAL_PW = 'copy-local-password-MARKER-a4f3';
const SECRETS = [S3_SECRET, S3_KEY, TARGET_PW, LOCAL_PW];

describe('copy policies', () => {
  let clock = Date.now();
  let sourceId: string;
  let s3Id: string;
  let localId: string;
  let rusticId: string;
  let policyId: string;
  const h = useHarness({ sessionIdleMs: 30 * 24 * HOUR, sessionAbsoluteMs: 60 * 24 * HOUR }, { now: () => clock });
  const host = useConnectedAgent(h, 'copy-host', REPO, { features: ['copy'] });
  const { seen, req } = answerLog(() => h.admin);
  const policyCount = async () => (await req('GET', '/api/copy-policies?limit=100')).body.total as number;
  const status = async () => (await req('GET', `/api/hosts/${host.hostId}/copy-status`)).body;
  const alerts = async (kind: string) => (await req('GET', `/api/alerts?host_id=${host.hostId}&kind=${kind}`)).body.items as { resolved_at: string | null; severity: string; message: string }[];
  const openAlerts = async (kind: string) => (await alerts(kind)).filter((a) => !a.resolved_at);
  const nextRun = async (): Promise<CommandRun> => (await host.agent.next('command.run')) as CommandRun;
  /** Runs a backup job into the primary and lets the agent end it with `status`. */
  const backup = async (st: 'succeeded' | 'failed') => {
    const run = await req('POST', `/api/hosts/${host.hostId}/jobs`, { kind: 'backup', args: { paths: ['/srv'] } });
    expect(run.status, run.text).toBe(202);
    const cmd = await nextRun();
    expect(cmd.kind).toBe('backup');
    host.agent.started(cmd.job_id, 'backup');
    host.agent.finished(cmd.job_id, st);
    await eventually(async () => (await h.server.services.jobs.get(cmd.job_id)).status === st);
    return cmd.job_id;
  };
  const finishCopy = async (jobId: string, st: 'succeeded' | 'failed', error?: string, policy = policyId) => {
    host.agent.started(jobId, 'copy');
    host.agent.finished(jobId, st, error ? { error, error_kind: 'failed' } : {});
    await eventually(async () => (await req('GET', `/api/copy-policies/${policy}`)).body.runs.find((r: { last_job_id: string }) => r.last_job_id === jobId)?.last_copy_status === st);
  };
  /** Run now for one policy; the agent ends the copy with `st`. */
  const runCopy = async (policy: string, st: 'succeeded' | 'failed') => {
    expect((await req('POST', `/api/copy-policies/${policy}/run`, {})).status).toBe(202);
    const cmd = await nextRun();
    await finishCopy(cmd.job_id, st, st === 'failed' ? 'Fatal: connection refused' : undefined, policy);
  };

  beforeAll(async () => {
    sourceId = (await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items[0].repository.id;
    const s3 = await req('POST', '/api/repositories', {
      name: 'offsite-s3', url: 's3:https://s3.example.com/bucket/copies', password: TARGET_PW,
      credentials: { backend: 's3', access_key_id: S3_KEY, secret_access_key: S3_SECRET, region: 'eu-west-1' },
    });
    expect(s3.status, s3.text).toBe(201);
    s3Id = s3.body.repository.id;
    localId = (await req('POST', '/api/repositories', { name: 'local-copy', url: '/srv/restic/local-copy', password: LOCAL_PW })).body.repository.id;
    rusticId = (await req('POST', '/api/repositories', { name: 'rustic-one', engine: 'rustic', url: '/srv/rustic/one', password: LOCAL_PW })).body.repository.id;
  });

  it.each([
    ['a copy into itself', () => ({ source_repository_id: sourceId, target_repository_id: sourceId }), 'target_repository_id'],
    ['a copy between engines', () => ({ source_repository_id: sourceId, target_repository_id: rusticId }), 'target_repository_id'],
    ['an unknown source', () => ({ source_repository_id: 'nope', target_repository_id: s3Id }), 'source_repository_id'],
    ['an unknown target', () => ({ source_repository_id: sourceId, target_repository_id: 'nope' }), 'target_repository_id'],
    ['a cron on an after_backup policy', () => ({ source_repository_id: sourceId, target_repository_id: s3Id, cron_expr: '0 * * * *' }), 'cron_expr'],
    ['a schedule policy without a cron', () => ({ source_repository_id: sourceId, target_repository_id: s3Id, mode: 'schedule' }), 'cron_expr'],
    ['a schedule policy with a bad cron', () => ({ source_repository_id: sourceId, target_repository_id: s3Id, mode: 'schedule', cron_expr: 'every tuesday' }), 'cron_expr'],
    ['a host the source is not linked to', () => ({ source_repository_id: localId, target_repository_id: s3Id, host_id: host.hostId }), 'host_id'],
  ])('refuses %s with 400 naming %s, writing nothing', async (_what, body, field) => {
    const before = await policyCount();
    const r = await req('POST', '/api/copy-policies', body());
    expect(r.status, r.text).toBe(400);
    expect(Object.keys(r.body.error.fields ?? {})).toContain(field);
    expect(await policyCount()).toBe(before);
  });

  it('creates, reads, changes and lists a policy; the status is "never" before any copy', async () => {
    const r = await req('POST', '/api/copy-policies', { source_repository_id: sourceId, target_repository_id: s3Id });
    expect(r.status, r.text).toBe(201);
    policyId = r.body.id;
    expect(r.body).toMatchObject({ source_repository_id: sourceId, target_repository_id: s3Id, host_id: null, mode: 'after_backup', cron_expr: null, time_zone: 'UTC', enabled: true, offsite: true, runs: [] });
    expect((await req('GET', `/api/copy-policies/${policyId}`)).body).toEqual(r.body);
    const bad = await req('PATCH', `/api/copy-policies/${policyId}`, { target_repository_id: sourceId });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('target_repository_id');
    const p = await req('PATCH', `/api/copy-policies/${policyId}`, { host_id: host.hostId });
    expect(p.status, p.text).toBe(200);
    expect(p.body).toMatchObject({ host_id: host.hostId, target_repository_id: s3Id });
    expect((await req('GET', '/api/copy-policies')).body.items.map((i: { id: string }) => i.id)).toContain(policyId);
    expect(await status()).toMatchObject({ host_id: host.hostId, state: 'never', offsite: true, items: [{ policy_id: policyId, state: 'never', offsite: true }] });
  });

  it('deleting a repository a policy uses is refused with 409 naming copy_policies', async () => {
    const r = await req('DELETE', `/api/repositories/${s3Id}`);
    expect(r.status).toBe(409);
    expect(r.body.error.fields).toHaveProperty('copy_policies');
    expect((await req('GET', `/api/repositories/${s3Id}`)).status).toBe(200);
    // The policy names this host: unlinking its source from the host is refused the same way.
    expect((await req('PUT', `/api/hosts/${host.hostId}/repositories/${localId}`, {})).status).toBe(200);
    const unlink = await req('DELETE', `/api/hosts/${host.hostId}/repositories/${sourceId}`);
    expect(unlink.status).toBe(409);
    expect(unlink.body.error.fields).toHaveProperty('copy_policies');
    expect((await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items.map((i: { repository: { id: string } }) => i.repository.id)).toEqual([sourceId, localId]);
    expect((await req('DELETE', `/api/hosts/${host.hostId}/repositories/${localId}`)).status).toBe(204);
  });

  it('a failed backup queues no copy', async () => {
    const jobId = await backup('failed');
    const job = await h.server.db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    await h.server.services.copies.jobEnded(job);
    const copies = await h.server.db.selectFrom('jobs').select('id').where('kind', '=', 'copy').execute();
    expect(copies).toEqual([]);
  });

  it('a successful backup queues a copy whose command.run carries the source and the target configs; its success makes the host up to date', async () => {
    // The server's snapshot list of the source: two of this host's, one of another host's (a shared repository).
    const hostname = (await req('GET', `/api/hosts/${host.hostId}`)).body.hostname as string;
    const snap = (id: string, host: string) => ({ id: id.repeat(64 / id.length), short_id: id.repeat(8 / id.length), time: new Date(clock).toISOString(), hostname: host, paths: ['/srv'], tags: [] });
    host.agent.send({ type: 'snapshots.report', outbox_seq: 900_001, snapshots: [snap('a1', hostname), snap('b2', hostname), snap('c3', 'other-host')] });
    await eventually(async () => (await req('GET', `/api/hosts/${host.hostId}`)).body.snapshot_count === 3);
    await backup('succeeded');
    const cmd = await nextRun();
    // The policy's first copy also initialises the target with the source's chunker parameters;
    // source_snapshots (this host's, as the server knows them) spares the agent a counting restic process.
    expect(cmd).toMatchObject({ kind: 'copy', args: { target_repository_id: s3Id, tags: [], init_target: true, source_snapshots: 2 } });
    expect(cmd.repository).toMatchObject({ id: sourceId, url: 'rest:http://127.0.0.1:8000/host-a/', credentials: { backend: 'rest' } });
    expect(cmd.copy_target).toMatchObject({ id: s3Id, password: TARGET_PW, credentials: { backend: 's3', access_key_id: S3_KEY, secret_access_key: S3_SECRET } });
    await finishCopy(cmd.job_id, 'succeeded');
    const st = await status();
    expect(st).toMatchObject({ state: 'up_to_date', offsite: true, items: [{ state: 'up_to_date', last_error: null }] });
    const repos = (await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items;
    expect(repos[0].last_copy_at).toBe(st.items[0].last_success_at);
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(new RegExp(`^restic_manager_last_copy_success\\{host="copy-host",policy="${policyId}"\\} 1$`, 'm'));
    expect(text).toMatch(new RegExp(`^restic_manager_last_copy_timestamp_seconds\\{host="copy-host",policy="${policyId}"\\} \\d+(\\.\\d+)?$`, 'm'));
  });

  it('behind once a backup stays uncopied past the grace (copy_behind), failing when the copy fails (copy_failed), up to date after Run now', async () => {
    await backup('succeeded');
    const pending = await nextRun();
    expect(pending).toMatchObject({ kind: 'copy', args: { init_target: false } });
    host.agent.started(pending.job_id, 'copy');
    await h.server.services.copyScheduler.tick();
    expect((await status()).state).toBe('up_to_date'); // within the grace
    clock += 25 * HOUR;
    await h.server.services.copyScheduler.tick();
    expect((await status()).items[0].state).toBe('behind');
    expect(await openAlerts('copy_behind')).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringContaining(`policy ${policyId}`) })]);

    await finishCopy(pending.job_id, 'failed', `Fatal: unable to open s3 bucket with key ${S3_SECRET}: Access Denied`);
    const st = await status();
    expect(st).toMatchObject({ state: 'failing', items: [{ state: 'failing' }] });
    expect(st.items[0].last_error).toContain('[redacted]');
    await eventually(async () => (await openAlerts('copy_failed')).length === 1);
    const [failed] = await openAlerts('copy_failed');
    expect(failed).toMatchObject({ severity: 'critical' });
    expect(failed!.message).not.toContain(S3_SECRET);
    expect(await openAlerts('copy_behind')).toEqual([]);

    const run = await req('POST', `/api/copy-policies/${policyId}/run`, {});
    expect(run.status, run.text).toBe(202);
    const cmd = await nextRun();
    expect(run.body.job_ids).toEqual([cmd.job_id]);
    await finishCopy(cmd.job_id, 'succeeded');
    expect((await status()).state).toBe('up_to_date');
    await eventually(async () => (await openAlerts('copy_failed')).length === 0);
    expect((await alerts('copy_failed')).length).toBe(1);
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(new RegExp(`^restic_manager_last_copy_success\\{host="copy-host",policy="${policyId}"\\} 1$`, 'm'));
  });

  it('a schedule policy is fired by the server on its cron (injected clock), once per fire time', async () => {
    const r = await req('POST', '/api/copy-policies', { source_repository_id: sourceId, target_repository_id: localId, mode: 'schedule', cron_expr: '0 * * * *', time_zone: 'UTC' });
    expect(r.status, r.text).toBe(201);
    expect(r.body.offsite).toBe(true); // rest → local: another backend
    await h.server.services.copyScheduler.tick();
    clock = (Math.floor(clock / HOUR) + 1) * HOUR + 60_000;
    // The timer or this tick fires it: either way exactly one copy job reaches the agent.
    await h.server.services.copyScheduler.tick();
    const cmd = await nextRun();
    expect(cmd).toMatchObject({ kind: 'copy', args: { target_repository_id: localId }, repository: { id: sourceId }, copy_target: { id: localId, password: LOCAL_PW, credentials: { backend: 'local' } } });
    expect(await h.server.services.copyScheduler.tick()).toEqual([]);
    const jobs = await h.server.db.selectFrom('jobs').select('id').where('kind', '=', 'copy').where('status', '=', 'queued').execute();
    expect(jobs.map((j) => j.id)).toEqual([cmd.job_id]);
    const off = await req('PATCH', `/api/copy-policies/${r.body.id}`, { enabled: false });
    expect(off.body.enabled).toBe(false);
    const del = await req('DELETE', `/api/copy-policies/${r.body.id}`);
    expect(del.status).toBe(204);
    expect((await req('GET', `/api/copy-policies/${r.body.id}`)).status).toBe(404);
  });

  it('one copy_failed per host: when the policy it names recovers while another still fails, it is raised anew about the other', async () => {
    const second = await req('POST', '/api/copy-policies', { source_repository_id: sourceId, target_repository_id: localId });
    expect(second.status, second.text).toBe(201);
    const p2 = second.body.id as string;
    const before = (await alerts('copy_failed')).length;
    await runCopy(policyId, 'failed');
    await runCopy(p2, 'failed');
    expect((await status()).items.map((i: { state: string }) => i.state)).toEqual(['failing', 'failing']);
    await eventually(async () => (await openAlerts('copy_failed')).length === 1);
    expect((await openAlerts('copy_failed'))[0]!.message).toContain(`policy ${policyId}`);
    await runCopy(policyId, 'succeeded');
    await eventually(async () => (await openAlerts('copy_failed'))[0]?.message.includes(`policy ${p2}`));
    expect((await alerts('copy_failed')).length).toBe(before + 2);
    await runCopy(p2, 'succeeded');
    await eventually(async () => (await openAlerts('copy_failed')).length === 0);
    expect((await status()).state).toBe('up_to_date');
    expect((await req('DELETE', `/api/copy-policies/${p2}`)).status).toBe(204);
  });

  it('an agent that said hello without the copy feature is refused (409 naming host_id), nothing queued', async () => {
    const old = await enrolledAgent(h, 'old-agent', { url: '/srv/restic/old-agent', password: LOCAL_PW });
    await old.agent.connect();
    await old.agent.next('config.update');
    const src = (await req('GET', `/api/hosts/${old.hostId}/repositories`)).body.items[0].repository.id as string;
    const p = await req('POST', '/api/copy-policies', { source_repository_id: src, target_repository_id: s3Id, host_id: old.hostId });
    expect(p.status, p.text).toBe(201);
    const run = await req('POST', `/api/copy-policies/${p.body.id}/run`, {});
    expect(run.status).toBe(409);
    expect(run.body.error.fields).toHaveProperty('host_id');
    expect(await h.server.db.selectFrom('jobs').select('id').where('host_id', '=', old.hostId).where('kind', '=', 'copy').execute()).toEqual([]);
    expect((await req('DELETE', `/api/copy-policies/${p.body.id}`)).status).toBe(204);
    await old.agent.close();
  });

  it('no secret of either repository appears in any response, the audit table or the logs', async () => {
    const audit = await h.server.db.selectFrom('audit_log').selectAll().execute();
    expect(audit.filter((a) => a.action.startsWith('copy_policy.')).map((a) => a.action)).toEqual(expect.arrayContaining(['copy_policy.create', 'copy_policy.update', 'copy_policy.delete']));
    const text = [...seen, JSON.stringify(audit), h.logs()].join('\n');
    for (const s of SECRETS) expect(text.includes(s), s).toBe(false);
  });
});
