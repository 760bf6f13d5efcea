import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, eventually, startHarness } from './helpers/harness.js';
import type { HttpReceiver } from './helpers/receivers.js';
import { startHttpReceiver } from './helpers/receivers.js';

/*
 * Every alert trigger of spec §9 against a real server and SQLite database: driven by agent
 * frames (FakeAgent over the real WebSocket) and, for the periodic ones, by an injected clock and
 * explicit `alertRules.tick()` calls, so nothing sleeps for minutes. Each trigger raises once,
 * resolves when its condition clears, and both changes reach a webhook channel.
 */
const HOUR = 3_600_000;
const MIN = 60_000;
const RECIPIENT = 'age1d6e0x5hfamz0hztz5qscux3m87f7lhd7kgalsgsr26k84mgt0e7s3ukm54';

describe('alert triggers', () => {
  let h: Harness;
  let clock = Date.now();
  let rx: HttpReceiver;
  const agents: FakeAgent[] = [];

  const openAlerts = async (hostId: string, kind: string) => (await h.server.services.fleet.alerts({ host_id: hostId, kind }, 50, 0)).items;
  const connected = async (name: string) => {
    const e = await enrolledAgent(h, name);
    await e.agent.connect();
    agents.push(e.agent);
    return e;
  };
  /** A connected agent that announces 'vault', with a local vault target on its host. */
  const vaultHost = async (name: string) => {
    const { hostId, bearer } = await enrolledAgent(h, name);
    const agent = new FakeAgent({ url: h.url, bearer, hostname: name, features: ['vault'] });
    await agent.connect();
    agents.push(agent);
    expect((await h.admin.req('PUT', `/api/hosts/${hostId}/vault`, { storage: { type: 'local', path: '/srv/vault' }, age_recipient: RECIPIENT })).status).toBe(200);
    return { agent, hostId };
  };
  /** Runs a job now and lets the agent finish it with `status`; returns the job id. */
  const runJob = async (agent: FakeAgent, hostId: string, kind: string, args: Record<string, unknown>, status: 'succeeded' | 'failed', extra: { error?: string; error_kind?: string } = {}) => {
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind, args });
    expect(run.status, run.text).toBe(202);
    await agent.next('command.run');
    const id = run.body.job.id as string;
    agent.started(id, kind);
    await agent.finishedApplied(id, status, extra);
    expect((await h.server.services.jobs.get(id)).status).toBe(status);
    return id;
  };
  const openOnly = async (hostId: string, kind: string) => (await openAlerts(hostId, kind)).filter((a) => !a.resolved_at);
  const events = async (hostId: string, kind: string) => {
    await h.server.services.notifier.idle();
    return rx.requests.map((r) => JSON.parse(r.body) as { event: string; alert: { kind: string; host_id: string } })
      .filter((e) => e.alert.kind === kind && e.alert.host_id === hostId).map((e) => e.event);
  };

  beforeAll(async () => {
    rx = await startHttpReceiver();
    h = await startHarness({ sessionIdleMs: 30 * 24 * HOUR, sessionAbsoluteMs: 60 * 24 * HOUR, notifyAllowPrivate: true }, { now: () => clock, alerting: { notifier: { baseDelayMs: 10 } } });
    const ch = await h.admin.req('POST', '/api/notification-channels', { type: 'webhook', name: 'all', config: { url: `${rx.url}/all` } });
    expect(ch.status).toBe(201);
  });
  afterAll(async () => {
    for (const a of agents) await a.close();
    await h.close();
    await rx.close();
  });

  it('backup_failed: a failed backup raises it once (critical); the next successful backup resolves it', async () => {
    const { agent, hostId } = await connected('t-backup');
    for (const status of ['failed', 'failed', 'succeeded'] as const) {
      const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: ['/srv'] } });
      await agent.next('command.run');
      agent.started(run.body.job.id, 'backup');
      await agent.finishedApplied(run.body.job.id, status, { error_kind: 'partial' });
      expect((await h.server.services.jobs.get(run.body.job.id)).status).toBe(status);
      const all = await openAlerts(hostId, 'backup_failed');
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ severity: 'critical', resolved_at: status === 'succeeded' ? expect.any(String) : null });
    }
    expect((await h.server.services.hosts.get(hostId)).open_alert_count).toBe(0);
    expect(await events(hostId, 'backup_failed')).toEqual(['alert.raised', 'alert.resolved']);
  });

  it('backup_failed: a disk-full backup names the error kind and the reason, in the alert and in its notification', async () => {
    const { agent, hostId } = await connected('t-disk-full');
    const error = 'Fatal: unable to save snapshot: write /srv/restic/data/ab/abcd: no space left on device';
    const id = await runJob(agent, hostId, 'backup', { paths: ['/srv'] }, 'failed', { error, error_kind: 'failed' });
    const [a] = await openOnly(hostId, 'backup_failed');
    expect(a?.message).toBe(`backup job ${id} failed (failed): ${error}`);
    await h.server.services.notifier.idle();
    const sent = rx.requests.map((r) => JSON.parse(r.body) as { event: string; alert: { host_id: string; message: string } }).filter((e) => e.alert.host_id === hostId);
    expect(sent).toEqual([expect.objectContaining({ event: 'alert.raised', alert: expect.objectContaining({ message: expect.stringContaining('(failed): Fatal: unable to save snapshot') }) })]);
    expect(sent[0]!.alert.message).toContain('no space left on device');
  });

  it('backup_failed and vault check_failed: without an error text, the last error line of the job\'s stderr log is quoted (bounded)', async () => {
    const { agent, hostId } = await vaultHost('t-stderr-reason');
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: ['/srv'] } });
    await agent.next('command.run');
    const id = run.body.job.id as string;
    agent.started(id, 'backup');
    agent.logLine(id, 'Fatal: unable to save snapshot: no space left on device', 'stderr');
    agent.logLine(id, '   ', 'stderr');
    agent.logLine(id, 'processed 10 files', 'stdout');
    agent.finished(id, 'failed', { error_kind: 'failed' });
    await eventually(async () => (await openOnly(hostId, 'backup_failed')).length > 0);
    expect((await openOnly(hostId, 'backup_failed'))[0]?.message).toBe(`backup job ${id} failed (failed): Fatal: unable to save snapshot: no space left on device`);

    const check = await runJob(agent, hostId, 'vault_check', {}, 'failed', { error: `pack 1f2e damaged: ${'x'.repeat(1000)}`, error_kind: 'failed' });
    const [c] = await openOnly(hostId, 'check_failed');
    expect(c?.message.startsWith(`vault check of t-stderr-reason failed (job ${check}, failed): pack 1f2e damaged: xxx`)).toBe(true);
    expect(c!.message.length).toBeLessThan(400);
    expect(c!.message.endsWith('…')).toBe(true);
  });

  it('check_failed: a failed check job raises it with the reason; a repo.stats with a passing check resolves it', async () => {
    const { agent, hostId } = await connected('t-check');
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'check', args: {} });
    await agent.next('command.run');
    agent.started(run.body.job.id, 'check');
    agent.finished(run.body.job.id, 'failed', { error: 'Fatal: repository contains errors\nmore detail', error_kind: 'failed' });
    const [raised] = await eventually(async () => {
      const a = await openAlerts(hostId, 'check_failed');
      return a.length ? a : null;
    });
    expect(raised).toMatchObject({ severity: 'critical', resolved_at: null });
    expect(raised!.message).toBe(`repository check of t-check failed (job ${run.body.job.id}, failed): Fatal: repository contains errors`);
    expect((await h.server.services.hosts.get(hostId)).open_alert_count).toBe(1);
    agent.send({ type: 'repo.stats', size_bytes: null, snapshot_count: null, dedup_ratio: null, last_check_at: new Date(clock).toISOString(), last_check_status: 'failed' });
    agent.send({ type: 'repo.stats', size_bytes: null, snapshot_count: null, dedup_ratio: null, last_check_at: new Date(clock).toISOString(), last_check_status: 'succeeded' });
    await eventually(async () => (await openAlerts(hostId, 'check_failed'))[0]?.resolved_at);
    expect(await openAlerts(hostId, 'check_failed')).toHaveLength(1);
    expect(await events(hostId, 'check_failed')).toEqual(['alert.raised', 'alert.resolved']);
  });

  it('repo_growth: raised when the size grows more than the threshold between two repo.stats, resolved by the next normal one', async () => {
    const { agent, hostId } = await connected('t-growth');
    const stats = async (size: number) => {
      await agent.sendApplied({ type: 'repo.stats', size_bytes: size, snapshot_count: 1, dedup_ratio: null });
      expect((await h.server.services.hosts.get(hostId)).repo_size_bytes).toBe(size);
    };
    await stats(1000); // first report: nothing to compare with
    await stats(1400); // +40 %: under the 50 % default
    expect(await openAlerts(hostId, 'repo_growth')).toEqual([]);
    await stats(2200); // +57 %
    const [a] = await openAlerts(hostId, 'repo_growth');
    expect(a).toMatchObject({ severity: 'warning', resolved_at: null });
    expect(a!.message).toMatch(/^repository of t-growth grew 57% between two stats reports \(1\.4 KiB → 2\.1 KiB; threshold 50%\)$/);
    await stats(2300);
    expect((await openAlerts(hostId, 'repo_growth'))[0]?.resolved_at).toEqual(expect.any(String));
    // A raised threshold applies to the next report.
    expect((await h.admin.req('PUT', '/api/alert-settings', { repo_growth_percent: 200 })).status).toBe(200);
    await stats(4600); // +100 %: under 200 %
    expect((await openAlerts(hostId, 'repo_growth')).filter((x) => !x.resolved_at)).toEqual([]);
    expect(await events(hostId, 'repo_growth')).toEqual(['alert.raised', 'alert.resolved']);
  });

  it('a tick asked for while another evaluation runs waits for it and evaluates as of now (not skipped)', async () => {
    const { agent, hostId } = await connected('t-tick-overlap');
    await agent.close();
    await eventually(async () => (await h.server.services.hosts.get(hostId)).status === 'offline');
    clock += 16 * MIN;
    const first = h.server.services.alertRules.tick();
    await h.server.services.alertRules.tick();
    expect(await openAlerts(hostId, 'agent_offline')).toHaveLength(1);
    await first;
    expect(await openAlerts(hostId, 'agent_offline')).toHaveLength(1);
    clock -= 16 * MIN;
  });

  it('agent_offline: raised once the host is offline longer than the threshold, resolved when the agent says hello', async () => {
    const { agent, hostId } = await connected('t-offline');
    await agent.close();
    await eventually(async () => (await h.server.services.hosts.get(hostId)).status === 'offline');
    clock += 14 * MIN;
    await h.server.services.alertRules.tick();
    expect(await openAlerts(hostId, 'agent_offline')).toEqual([]);
    clock += 2 * MIN;
    await h.server.services.alertRules.tick();
    await h.server.services.alertRules.tick(); // raised once, not twice
    const open = await openAlerts(hostId, 'agent_offline');
    expect(open).toHaveLength(1);
    expect(open[0]!.message).toMatch(/^agent of t-offline has been offline for 16 minutes \(last seen .+; threshold 15 min\)$/);
    expect((await h.server.services.hosts.get(hostId)).open_alert_count).toBe(1);
    await agent.connect();
    await eventually(async () => (await openAlerts(hostId, 'agent_offline'))[0]?.resolved_at);
    expect(await events(hostId, 'agent_offline')).toEqual(['alert.raised', 'alert.resolved']);
  });

  it('backup_overdue: raised when a backup schedule has no success N hours after it was due, resolved by a successful run of it', async () => {
    const { agent, hostId } = await connected('t-overdue');
    const t0 = clock;
    const sched = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 * * * *', time_zone: 'UTC', paths: ['/data'] });
    expect(sched.status).toBe(201);
    await h.server.services.alertRules.tick();
    clock = t0 + HOUR + 59 * MIN; // the first fire (<= t0 + 1 h) is not yet 2 h past
    await h.server.services.alertRules.tick();
    expect(await openAlerts(hostId, 'backup_overdue')).toEqual([]);
    clock = t0 + 3 * HOUR + MIN;
    await h.server.services.alertRules.tick();
    const [a] = await openAlerts(hostId, 'backup_overdue');
    expect(a).toMatchObject({ severity: 'warning', resolved_at: null });
    expect(a!.message).toMatch(/^backup schedule "0 \* \* \* \*" of t-overdue has not produced a successful backup since it was due at \S+ \(no success yet; threshold 2 h\)$/);

    // The agent's own scheduler runs it (job.started with schedule_id), at the injected time.
    await agent.close();
    await agent.connect();
    const jobId = randomUUID();
    const at = new Date(clock).toISOString();
    agent.send({ type: 'job.started', job_id: jobId, seq: 0, kind: 'backup', started_at: at, schedule_id: sched.body.id });
    agent.send({ type: 'job.finished', job_id: jobId, seq: 1, status: 'succeeded', exit_code: 0, stats: null, error: null, error_kind: null, finished_at: at });
    await eventually(async () => (await h.server.services.jobs.get(jobId).catch(() => null))?.status === 'succeeded');
    await h.server.services.alertRules.tick();
    expect((await openAlerts(hostId, 'backup_overdue'))[0]?.resolved_at).toEqual(expect.any(String));
    expect(await events(hostId, 'backup_overdue')).toEqual(['alert.raised', 'alert.resolved']);
  });

  it('backup_failed from a vault backup: "vault backup job …", kept open by a restic success, resolved by a vault success', async () => {
    const { agent, hostId } = await vaultHost('t-vault-backup');
    const failed = await runJob(agent, hostId, 'vault_backup', { paths: ['/etc'] }, 'failed', { error: 'S3 answered 403', error_kind: 'failed' });
    const [a] = await openOnly(hostId, 'backup_failed');
    expect(a).toMatchObject({ severity: 'critical', message: `vault backup job ${failed} failed (failed): S3 answered 403` });
    expect(await h.server.services.hosts.get(hostId)).toMatchObject({ last_vault_backup_status: 'failed', last_backup_at: null, open_alert_count: 1 });
    await runJob(agent, hostId, 'backup', { paths: ['/srv'] }, 'succeeded'); // the restic repository is fine; the vault is not
    expect((await openOnly(hostId, 'backup_failed')).map((x) => x.id)).toEqual([a!.id]);
    await runJob(agent, hostId, 'vault_backup', { paths: ['/etc'] }, 'succeeded');
    expect(await openOnly(hostId, 'backup_failed')).toEqual([]);
    expect(await h.server.services.hosts.get(hostId)).toMatchObject({ last_vault_backup_status: 'succeeded', last_backup_status: 'succeeded', open_alert_count: 0 });
    expect(await events(hostId, 'backup_failed')).toEqual(['alert.raised', 'alert.resolved']);
  });

  it('backup_failed: when the target it names recovers while the other still fails, it is raised again about the other', async () => {
    const { agent, hostId } = await vaultHost('t-both-fail');
    const restic = await runJob(agent, hostId, 'backup', { paths: ['/srv'] }, 'failed', { error_kind: 'partial' });
    const vault = await runJob(agent, hostId, 'vault_backup', { paths: ['/etc'] }, 'failed', { error_kind: 'lock_failed' });
    expect((await openOnly(hostId, 'backup_failed')).map((x) => x.message)).toEqual([`backup job ${restic} failed (partial): no error message was reported`]);
    await runJob(agent, hostId, 'backup', { paths: ['/srv'] }, 'succeeded');
    expect((await openOnly(hostId, 'backup_failed')).map((x) => x.message)).toEqual([`vault backup job ${vault} failed (lock_failed): no error message was reported`]);
    await runJob(agent, hostId, 'vault_backup', { paths: ['/etc'] }, 'succeeded');
    expect(await openOnly(hostId, 'backup_failed')).toEqual([]);
    expect(await events(hostId, 'backup_failed')).toEqual(['alert.raised', 'alert.resolved', 'alert.raised', 'alert.resolved']);
  });

  it('check_failed from a vault check: "vault check of …", not resolved by a passing restic check, resolved by a passing vault check', async () => {
    const { agent, hostId } = await vaultHost('t-vault-check');
    const job = await runJob(agent, hostId, 'vault_check', { read_data: false }, 'failed', { error: 'blob 3f2a… is missing\nmore', error_kind: 'failed' });
    const [a] = await openOnly(hostId, 'check_failed');
    expect(a).toMatchObject({ severity: 'critical', message: `vault check of t-vault-check failed (job ${job}, failed): blob 3f2a… is missing` });
    agent.send({ type: 'repo.stats', size_bytes: null, snapshot_count: null, dedup_ratio: null, last_check_at: new Date(clock).toISOString(), last_check_status: 'succeeded' });
    await runJob(agent, hostId, 'check', {}, 'succeeded');
    expect((await openOnly(hostId, 'check_failed')).map((x) => x.id)).toEqual([a!.id]);
    await runJob(agent, hostId, 'vault_check', { read_data: false }, 'succeeded');
    expect(await openOnly(hostId, 'check_failed')).toEqual([]);
    expect(await events(hostId, 'check_failed')).toEqual(['alert.raised', 'alert.resolved']);
  });

  it('backup_overdue from a vault_backup schedule: its server-fired job waiting for an absent host is overdue; the successful vault backup resolves it', async () => {
    const { agent, hostId } = await vaultHost('t-vault-overdue');
    const t0 = clock;
    const sched = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'vault_backup', cron_expr: '0 * * * *', time_zone: 'UTC', paths: ['/etc'] });
    expect(sched.status, sched.text).toBe(201);
    await agent.close();
    await eventually(async () => (await h.server.services.hosts.get(hostId)).status === 'offline');
    clock = t0 + 3 * HOUR + MIN;
    await h.server.services.maintenanceScheduler.tick(); // fires once; the job waits on the server
    const queued = await eventually(async () => (await h.server.services.jobs.list({ host_id: hostId, kind: 'vault_backup' }, 'desc', 5, 0)).items[0]);
    expect(queued).toMatchObject({ status: 'queued', schedule_id: sched.body.id });
    await h.server.services.alertRules.tick();
    const [a] = await openOnly(hostId, 'backup_overdue');
    expect(a).toMatchObject({ severity: 'warning' });
    expect(a!.message).toMatch(/^vault backup schedule "0 \* \* \* \*" of t-vault-overdue has not produced a successful vault backup since it was due at \S+ \(no success yet; threshold 2 h\)$/);

    await agent.connect(); // hello dispatches the waiting job; it runs at the injected time
    const cmd = (await agent.next('command.run')) as { job_id: string; kind: string };
    expect(cmd).toMatchObject({ job_id: queued.id, kind: 'vault_backup' });
    const at = new Date(clock).toISOString();
    agent.send({ type: 'job.started', job_id: cmd.job_id, seq: 0, kind: 'vault_backup', started_at: at });
    agent.send({ type: 'job.finished', job_id: cmd.job_id, seq: 1, status: 'succeeded', exit_code: 0, stats: null, error: null, error_kind: null, finished_at: at });
    await eventually(async () => (await h.server.services.jobs.get(cmd.job_id)).status === 'succeeded');
    await h.server.services.alertRules.tick();
    expect(await openOnly(hostId, 'backup_overdue')).toEqual([]);
    expect(await h.server.services.hosts.get(hostId)).toMatchObject({ last_vault_backup_at: at, last_vault_backup_status: 'succeeded' });
    expect(await events(hostId, 'backup_overdue')).toEqual(['alert.raised', 'alert.resolved']);
  });

  it('restore_failed: a failed restore raises it (critical) naming the files; a cancelled one changes nothing; the next successful restore resolves it', async () => {
    const { agent, hostId } = await connected('t-restore');
    const snap = 'abcdef12'.padEnd(64, '0');
    agent.send({ type: 'snapshots.report', snapshots: [{ id: snap, short_id: 'abcdef12', time: '2026-01-01T00:00:00Z', hostname: 't-restore', paths: ['/srv'], tags: [] }] });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}/snapshots`)).body.total === 1);
    const restore = async (status: 'succeeded' | 'failed' | 'cancelled', extra: { error?: string; error_kind?: string } = {}) => {
      const run = await h.admin.req('POST', `/api/hosts/${hostId}/restore`, { snapshot_id: snap, target: '/srv/restore' });
      expect(run.status, run.text).toBe(202);
      await agent.next('command.run');
      const id = run.body.job.id as string;
      agent.started(id, 'restore');
      await agent.finishedApplied(id, status, extra);
      expect((await h.server.services.jobs.get(id)).status).toBe(status);
      return id;
    };
    const why = '1 file(s) could not be restored: /srv/a.bin (ciphertext verification failed); it was removed from /srv/restore so no damaged file is left under its name; every other file was restored';
    const failed = await restore('failed', { error: why, error_kind: 'failed' });
    const open = await openOnly(hostId, 'restore_failed');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ severity: 'critical', message: `restore job ${failed} on t-restore failed (failed): ${why}` });
    await restore('cancelled');
    expect(await openOnly(hostId, 'restore_failed')).toHaveLength(1);
    await restore('succeeded');
    expect(await openOnly(hostId, 'restore_failed')).toEqual([]);
    expect(await events(hostId, 'restore_failed')).toEqual(['alert.raised', 'alert.resolved']);
  });
});
