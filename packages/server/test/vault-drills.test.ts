import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { ADMIN_PASSWORD, Api, useHarness } from './helpers/harness.js';

/*
 * Vault drills on the server (docs/recoverability.md "Vault drills") against protocol-level
 * agents: the trusted host's reported identity, the refusals with their reasons, the job sent to
 * the trusted host with the drilled host's target, the proof recorded from the job's end.
 */
const RECIPIENT = 'age1d6e0x5hfamz0hztz5qscux3m87f7lhd7kgalsgsr26k84mgt0e7s3ukm54';
const OTHER = 'age18w6j0h7jr62kymtpmth0hh2hqmv87rgjlks37c5gu9rxh3ehlflq65l2k4';
const SECRET = 's3-secret-MARKER-vdrill-91';
const SNAP = '20261201T030000Z-1a2b3c4d';

describe('vault drills (server)', () => {
  let clock = Date.now();
  // Every read of the clock moves it on: drills are ordered by creation time.
  const h = useHarness({}, { now: () => (clock += 1) });
  const agents: FakeAgent[] = [];
  const ids: Record<string, string> = {};
  const a: Record<string, FakeAgent> = {};
  let operator: Api;
  const enroll = async (name: string, features: string[], hello?: Record<string, unknown>) => {
    const add = await h.admin.req('POST', '/api/hosts', { name, repository: { url: '/srv/repo', password: 'repo-password-123456' } });
    const enr = await FakeAgent.enroll(h.url, add.body.token as string, name);
    const agent = new FakeAgent({ url: h.url, bearer: enr.bearer_token, features, ...(hello ? { hello } : {}) });
    await agent.connect();
    await agent.next('config.update');
    agents.push(agent);
    ids[name] = enr.host_id;
    a[name] = agent;
  };
  const drill = (host: string, body: Record<string, unknown> = {}) => h.admin.req('POST', `/api/hosts/${ids[host]}/vault-drills`, body);

  beforeAll(async () => {
    await enroll('src', ['vault', 'vault_drill', 'restore_drill']);
    await enroll('trusted', ['vault', 'vault_drill'], { vault_identity: { recipient: RECIPIENT, error: null } });
    await enroll('other', ['vault', 'vault_drill'], { vault_identity: { recipient: OTHER, error: null } });
    await enroll('old', ['vault'], { vault_identity: { recipient: RECIPIENT, error: null } });
    await h.admin.req('POST', '/api/users', { username: 'oscar', password: 'oscar-password-123', role: 'operator' });
    operator = new Api(h.url);
    await operator.login('oscar', 'oscar-password-123');
    const put = await h.admin.req('PUT', `/api/hosts/${ids.src}/vault`, { storage: { type: 's3', endpoint: 'https://s3.example.com', bucket: 'b', prefix: 'src/', access_key_id: 'AKIA-vd', secret_access_key: SECRET }, age_recipient: RECIPIENT });
    expect(put.status, put.text).toBe(200);
  });
  afterAll(async () => {
    for (const x of agents) await x.close();
  });

  it('admins mark a host trusted (audited); operators cannot; the view shows only the reported recipient', async () => {
    expect((await operator.req('PUT', `/api/hosts/${ids.trusted}/vault-drill-trust`, { trusted: true })).status).toBe(403);
    const r = await h.admin.req('PUT', `/api/hosts/${ids.trusted}/vault-drill-trust`, { trusted: true });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ host_id: ids.trusted, trusted: true, identity_recipient: RECIPIENT, identity_error: null });
    expect((await operator.req('GET', `/api/hosts/${ids.trusted}/vault-drill-trust`)).body.trusted).toBe(true);
    const audit = (await h.admin.req('GET', '/api/audit?limit=50')).body.items.find((x: { action: string }) => x.action === 'host.vault_drill_trust.set');
    expect(audit.payload).toMatchObject({ host: 'trusted', trusted: true });
    expect((await h.admin.req('PUT', `/api/hosts/${ids.trusted}/vault-drill-trust`, { trusted: 'yes' })).status).toBe(400);
  });

  it('refuses: no snapshot yet, the backed-up host, an untrusted host, another recipient, an agent without vault_drill', async () => {
    expect((await drill('src')).body.error.message).toMatch(/has no vault snapshot to drill: run a vault backup first/);
    // A vault snapshot reported by the source host's vault job.
    const run = await h.admin.req('POST', `/api/hosts/${ids.src}/jobs`, { kind: 'vault_snapshots', args: {} });
    const jobId = run.body.job.id as string;
    await a.src!.next('command.run');
    a.src!.started(jobId, 'vault_snapshots');
    a.src!.send({ type: 'vault.snapshots.report', job_id: jobId, snapshots: [{ id: SNAP, time: '2026-12-01T03:00:00.000Z', metadata_bytes: 800 }] });
    a.src!.finished(jobId, 'succeeded', {});
    await expect.poll(async () => (await h.admin.req('GET', `/api/hosts/${ids.src}/vault`)).body.snapshots.length).toBe(1);

    const self = await drill('src', { drill_host_id: ids.src });
    expect(self.status).toBe(400);
    expect(self.body.error.fields.drill_host_id).toMatch(/never runs on the backed-up host/);
    const other = await drill('src', { drill_host_id: ids.other });
    expect(other.body.error.fields.drill_host_id).toMatch(/host other is not trusted for vault drills/);
    await h.admin.req('PUT', `/api/hosts/${ids.other}/vault-drill-trust`, { trusted: true });
    expect((await drill('src', { drill_host_id: ids.other })).body.error.fields.drill_host_id).toBe(`the vault identity of host other (recipient ${OTHER}) does not match the vault target's recipient ${RECIPIENT}`);
    await h.admin.req('PUT', `/api/hosts/${ids.old}/vault-drill-trust`, { trusted: true });
    expect((await drill('src', { drill_host_id: ids.old })).body.error.fields.drill_host_id).toMatch(/cannot run vault drills .* upgrade it/);
    expect((await operator.req('GET', `/api/hosts/${ids.src}/restore-drills`)).body).toMatchObject({ vault: 'unproven', vault_reason: expect.stringMatching(/no vault drill has succeeded yet \(host trusted can run one\)/) });
  });

  it('sends the drill to the trusted host with the drilled host target, and records the proof from the job end', async () => {
    const r = await drill('src', { seed: 's1', sample_files: 7 });
    expect(r.status, r.text).toBe(202);
    const job = r.body.jobs[0];
    expect(job).toMatchObject({ host_id: ids.trusted, kind: 'vault_drill' });
    const cmd = (await a.trusted!.next('command.run')) as { kind: string; args: Record<string, unknown>; vault?: { storage: Record<string, unknown>; age_recipient: string } };
    expect(cmd).toMatchObject({ kind: 'vault_drill', args: { snapshot_id: SNAP, seed: 's1', sample_files: 7 } });
    expect(cmd.vault?.storage).toMatchObject({ type: 's3', prefix: 'src/', secret_access_key: SECRET });
    expect(cmd.vault?.age_recipient).toBe(RECIPIENT);
    expect(JSON.stringify((await h.admin.req('GET', `/api/jobs/${job.id as string}`)).body)).not.toContain(SECRET);
    a.trusted!.started(job.id, 'vault_drill');
    a.trusted!.finished(job.id, 'failed', { error: 'vault drill of snapshot x failed: file /srv/a.bin (blob 1234: segment 2 is damaged or missing)' });
    await expect.poll(async () => (await h.admin.req('GET', `/api/alerts?kind=restore_drill_failed&host_id=${ids.src}&open=true`)).body.items[0]?.message ?? '').toMatch(/on host trusted.*file \/srv\/a\.bin/);
    expect((await h.admin.req('GET', `/api/hosts/${ids.src}/restore-drills`)).body.vault_reason).toMatch(/^the last vault drill failed: .*\/srv\/a\.bin/);

    const ok = (await drill('src')).body.jobs[0];
    await a.trusted!.next('command.run');
    a.trusted!.started(ok.id, 'vault_drill');
    a.trusted!.finished(ok.id, 'succeeded', { stats: { snapshot_id: SNAP, files: 4, bytes: 4096, duration_seconds: 1, throughput_bps: 8192, rto_seconds: 3 } });
    await expect.poll(async () => (await h.admin.req('GET', `/api/hosts/${ids.src}/restore-drills`)).body.vault).toBe('proven');
    const sum = (await h.admin.req('GET', `/api/hosts/${ids.src}/restore-drills`)).body;
    expect(sum.last_success).toMatchObject({ job_id: ok.id, engine: 'vault', drill_host_id: ids.trusted, files: 4, bytes: 4096, rto_seconds: 3 });
    expect((await h.admin.req('GET', `/api/alerts?kind=restore_drill_failed&host_id=${ids.src}&open=true`)).body.items).toEqual([]);
    // A vault drill is not started through the plain run-now.
    expect((await h.admin.req('POST', `/api/hosts/${ids.trusted}/jobs`, { kind: 'vault_drill', args: { snapshot_id: SNAP } })).status).toBe(400);
  });

  it('a restore_drill schedule of a host with a vault target also drills the vault on the trusted host', async () => {
    const sc = await h.admin.req('POST', `/api/hosts/${ids.src}/schedules`, { kind: 'restore_drill', cron_expr: '0 * * * *' });
    expect(sc.status, sc.text).toBe(201);
    clock += 2 * 3_600_000;
    const fired = await h.server.services.maintenanceScheduler.tick();
    expect(fired).toHaveLength(2);
    const vault = (await a.trusted!.next('command.run')) as { job_id: string; kind: string };
    expect(vault.kind).toBe('vault_drill');
    expect(fired).toContain(vault.job_id);
    expect((await h.server.services.jobs.get(vault.job_id)).schedule_id).toBe(sc.body.id);
    expect(((await a.src!.next('command.run')) as { kind: string }).kind).toBe('restore_drill');
  });

  it('a drill by tag drills each tagged host\'s repositories and its vault target; each refused part is listed with its reason', async () => {
    // (the schedule test moved the clock on by hours: sign in again)
    await h.admin.login('admin', ADMIN_PASSWORD);
    await operator.login('oscar', 'oscar-password-123');
    const put = await h.admin.req('PUT', `/api/hosts/${ids.other}/vault`, { storage: { type: 's3', endpoint: 'https://s3.example.com', bucket: 'b', prefix: 'other/', access_key_id: 'AKIA-vd2', secret_access_key: SECRET }, age_recipient: OTHER });
    expect(put.status, put.text).toBe(200);
    for (const n of ['src', 'other']) expect((await h.admin.req('PUT', `/api/hosts/${ids[n]}/tags`, { tags: ['vaulted'] })).status).toBe(200);
    const r = await operator.req('POST', '/api/restore-drills', { tag: 'vaulted', sample_files: 5, seed: 'tagged' });
    expect(r.status, r.text).toBe(202);
    const jobs = (r.body.jobs as { host_id: string; kind: string }[]).map((j) => `${j.kind}@${j.host_id}`).sort();
    expect(jobs).toEqual([`restore_drill@${ids.src}`, `vault_drill@${ids.trusted}`].sort());
    const refused = r.body.refused as { host: string; error: string }[];
    // 'other': its agent predates restore drills, and no trusted host holds its recipient's identity
    expect(refused.map((x) => x.host)).toEqual(['other', 'other']);
    expect(refused.map((x) => x.error).join('\n')).toMatch(/predates restore drills/);
    expect(refused.map((x) => x.error).join('\n')).toMatch(/vault restores of other stay unproven/);
    expect(await a.trusted!.next('command.run')).toMatchObject({ kind: 'vault_drill', args: { snapshot_id: SNAP, sample_files: 5, seed: 'tagged' } });
    expect(await a.src!.next('command.run')).toMatchObject({ kind: 'restore_drill', args: { sample_files: 5, seed: 'tagged' } });
  });
});
