import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { ADMIN_PASSWORD, Api, enrolledAgent, eventually, startHarness } from './helpers/harness.js';

/*
 * The snapshot ledger (issue 16, docs/recoverability.md) against a real server and store, driven
 * by FakeAgent frames over the real WebSocket: a snapshot removed by an authorised forget is
 * recorded with its job; one that vanishes without one raises snapshot_vanished and freezes
 * forget/prune (run-now 409, a server-fired prune schedule does not dispatch) until an admin
 * acknowledges; the ledger keeps gone snapshots; a replayed older listing changes nothing; a
 * change of the repository's keys raises repository_keys_changed and freezes likewise.
 */
const HOUR = 3_600_000;
const hdr = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };

interface Snap { id: string; short_id: string; time: string; hostname: string; paths: string[]; tags: string[] }
const snap = (hostname: string, paths: string[], time: string): Snap => {
  const id = randomBytes(32).toString('hex');
  return { id, short_id: id.slice(0, 8), time, hostname, paths, tags: [] };
};

describe('snapshot ledger', () => {
  let h: Harness;
  let clock = Date.now();
  const agents: FakeAgent[] = [];

  beforeAll(async () => {
    h = await startHarness({}, { now: () => clock, mountWeb: undefined });
  });
  afterAll(async () => {
    for (const a of agents) await a.close();
    await h?.close();
  });

  /** A connected host on a local repository (forget/prune need no maintenance credential); returns its repository id. */
  const host = async (name: string) => {
    const e = await enrolledAgent(h, name, { url: `/srv/restic/${name}`, password: `${name}-repository-password` });
    await e.agent.connect();
    agents.push(e.agent);
    const repos = await h.admin.req('GET', `/api/hosts/${e.hostId}/repositories`);
    return { ...e, repoId: repos.body.items[0].repository.id as string };
  };
  /** Runs a job now; the agent finishes it and then lists `listing` (as the real agent does after a job). Returns the job id and its report frame. */
  const runJob = async (agent: FakeAgent, hostId: string, kind: string, args: Record<string, unknown>, listing: Snap[]) => {
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind, args });
    expect(run.status, run.text).toBe(202);
    const cmd = (await agent.next('command.run')) as { job_id: string };
    agent.started(cmd.job_id, kind);
    agent.finished(cmd.job_id, 'succeeded');
    await eventually(async () => (await h.admin.req('GET', `/api/jobs/${cmd.job_id}`)).body.status === 'succeeded');
    const report = { type: 'snapshots.report', job_id: cmd.job_id, snapshots: listing };
    agent.send(report);
    return { jobId: cmd.job_id, report };
  };
  const ledger = async (repoId: string, q = '') => (await h.admin.req('GET', `/api/repositories/${repoId}/ledger${q}`)).body as {
    items: { snapshot_id: string; short_id: string; gone_at: string | null; removed_by_job_id: string | null; acknowledged_at: string | null; first_seen_at: string; last_seen_at: string }[]; total: number;
  };
  /** Waits until the ledger holds `present` snapshots still there and `gone` gone ones. */
  const settled = (repoId: string, present: number, gone: number) => eventually(async () => {
    const all = (await ledger(repoId, '?limit=500')).items;
    return all.filter((s) => !s.gone_at).length === present && all.filter((s) => s.gone_at).length === gone ? all : null;
  });
  const alerts = async (hostId: string, kind: string) => (await h.admin.req('GET', `/api/alerts?host_id=${hostId}&kind=${kind}&limit=50`)).body.items as
    { severity: string; message: string; resolved_at: string | null }[];
  let operator: Api | null = null;
  const asOperator = async () => {
    if (operator) return operator;
    expect((await h.admin.req('POST', '/api/users', { username: 'ledger-op', password: 'ledger-operator-password-1', role: 'operator' })).status).toBe(201);
    operator = new Api(h.url);
    await operator.login('ledger-op', 'ledger-operator-password-1');
    return operator;
  };
  const repository = async (repoId: string) => (await h.admin.req('GET', `/api/repositories/${repoId}`)).body as { frozen_since: string | null; frozen_reason: string | null };

  it('a snapshot removed by an authorised forget job: no alert, the ledger names the job', async () => {
    const { agent, hostId, repoId } = await host('ledger-forget');
    const a = snap('ledger-forget', ['/etc'], '2026-11-01T10:00:00.000Z');
    const b = snap('ledger-forget', ['/etc'], '2026-11-02T10:00:00.000Z');
    await runJob(agent, hostId, 'backup', { paths: ['/etc'] }, [a, b]);
    await settled(repoId, 2, 0);
    const forget = await runJob(agent, hostId, 'forget', { policy: { keep_last: 1 } }, [b]);
    const entries = await settled(repoId, 1, 1);
    expect(entries.find((s) => s.snapshot_id === a.id)).toMatchObject({ removed_by_job_id: forget.jobId, acknowledged_at: null });
    expect(entries[0]?.snapshot_id).toBe(a.id); // gone first
    const kept = entries.find((s) => s.snapshot_id === b.id)!;
    const forgetJob = (await h.admin.req('GET', `/api/jobs/${forget.jobId}`)).body as { finished_at: string };
    expect(kept.last_seen_at).toBe(new Date(forgetJob.finished_at).toISOString()); // seen again by the forget's listing
    expect(kept.first_seen_at < kept.last_seen_at).toBe(true);
    expect(await alerts(hostId, 'snapshot_vanished')).toEqual([]);
    expect(await repository(repoId)).toMatchObject({ frozen_since: null, frozen_reason: null });
  });

  it('snapshots vanishing without one: snapshot_vanished names them, forget/prune freeze until an admin acknowledges (audited)', async () => {
    const { agent, hostId, repoId } = await host('ledger-vanish');
    const keep = snap('ledger-vanish', ['/srv/www'], '2026-11-01T10:00:00.000Z');
    const lost1 = snap('ledger-vanish', ['/etc', '/home'], '2026-11-02T10:00:00.000Z');
    const lost2 = snap('ledger-vanish', ['/var/lib/db'], '2026-11-03T10:00:00.000Z');
    await runJob(agent, hostId, 'backup', { paths: ['/srv/www'] }, [keep, lost1, lost2]);
    const before = await settled(repoId, 3, 0);
    const lastSeen = before[0]!.last_seen_at;
    // Deleted behind the server's back: the next listing (after a plain snapshots job) lacks two.
    await runJob(agent, hostId, 'snapshots', {}, [keep]);
    await settled(repoId, 1, 2);

    const [alert] = await eventually(async () => {
      const open = await alerts(hostId, 'snapshot_vanished');
      return open.length ? open : null;
    });
    expect(alert).toMatchObject({ severity: 'critical', resolved_at: null });
    expect(alert!.message).toContain(`2 snapshots of repository `);
    expect(alert!.message).toContain(`${lost1.short_id} (2026-11-02T10:00:00.000Z, /etc, /home; last seen ${lastSeen})`);
    expect(alert!.message).toContain(`${lost2.short_id} (2026-11-03T10:00:00.000Z, /var/lib/db; last seen ${lastSeen})`);
    const frozen = await repository(repoId);
    expect(frozen.frozen_since).not.toBeNull();
    expect(frozen.frozen_reason).toBe(`frozen since ${frozen.frozen_since}: 2 snapshots vanished without an authorised forget`);

    // Run-now forget and prune: 409 naming repository_id and saying why.
    for (const [kind, args] of [['forget', { policy: { keep_last: 1 } }], ['prune', {}]] as const) {
      const refused = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind, args });
      expect(refused.status, refused.text).toBe(409);
      expect(refused.body.error.fields).toHaveProperty('repository_id');
      expect(refused.body.error.message).toContain(`${kind} refused: repository `);
      expect(refused.body.error.message).toContain(frozen.frozen_reason!);
    }
    // Other kinds still run.
    const check = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'check', args: {} });
    expect(check.status, check.text).toBe(202);
    const checkCmd = (await agent.next('command.run')) as { job_id: string; kind: string };
    expect(checkCmd.kind).toBe('check');
    agent.finished(checkCmd.job_id, 'succeeded');

    // A server-fired prune schedule: its job fails on the server with the reason and is never sent.
    const sched = await h.admin.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'prune', cron_expr: '0 * * * *', time_zone: 'UTC' });
    expect(sched.status, sched.text).toBe(201);
    clock += 2 * HOUR;
    await h.server.services.maintenanceScheduler.tick();
    await h.admin.login('admin', ADMIN_PASSWORD); // the jump outlived the session
    const fired = await eventually(async () => (await h.admin.req('GET', `/api/jobs?host_id=${hostId}&kind=prune&limit=5`)).body.items[0] as { id: string; status: string; error: string; error_kind: string } | undefined);
    expect(fired).toMatchObject({ status: 'failed', error_kind: 'failed' });
    expect(fired.error).toContain('prune refused');
    expect(fired.error).toContain('vanished without an authorised forget');
    expect(agent.received.filter((m) => m.type === 'command.run')).toEqual([]);

    // Only an admin acknowledges.
    const op = await asOperator();
    expect((await op.req('POST', `/api/repositories/${repoId}/ledger/acknowledge`)).status).toBe(403);
    const ack = await h.admin.req('POST', `/api/repositories/${repoId}/ledger/acknowledge`);
    expect(ack.status, ack.text).toBe(200);
    expect(ack.body).toMatchObject({ acknowledged_snapshots: 2, keys_change_acknowledged: false, repository: { frozen_since: null, frozen_reason: null } });
    expect((await h.admin.req('POST', `/api/repositories/${repoId}/ledger/acknowledge`)).status).toBe(409);
    const audit = await h.admin.req('GET', `/api/audit?target_id=${repoId}&limit=20`);
    const actions = (audit.body.items as { action: string; actor_name: string; payload: Record<string, unknown> }[]);
    expect(actions.find((x) => x.action === 'repository.ledger.acknowledge')).toMatchObject({ actor_name: 'admin', payload: { vanished_snapshots: 2, frozen_since: frozen.frozen_since } });
    expect(actions.find((x) => x.action === 'repository.frozen')).toMatchObject({ payload: { cause: 'snapshot_vanished', vanished_snapshots: 2 } });
    expect((await alerts(hostId, 'snapshot_vanished')).every((a) => a.resolved_at !== null)).toBe(true);

    // Unfrozen: forget runs again; the ledger still holds the vanished snapshots, acknowledged.
    const forget = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'forget', args: { policy: { keep_last: 1 } } });
    expect(forget.status, forget.text).toBe(202);
    const gone = await ledger(repoId, '?gone=true');
    expect(gone.total).toBe(2);
    expect(gone.items.map((s) => s.short_id).sort()).toEqual([lost1.short_id, lost2.short_id].sort());
    expect(gone.items.every((s) => s.removed_by_job_id === null && s.acknowledged_at !== null)).toBe(true);
    expect((await ledger(repoId, '?gone=false')).items.map((s) => s.short_id)).toEqual([keep.short_id]);
  });

  it('a repository shared by two hosts: one host\'s listing freezes it for both; a forget queued for the other while it was away fails at its hello', async () => {
    const a = await host('ledger-shared-a');
    const b = await host('ledger-shared-b');
    const link = await h.admin.req('PUT', `/api/hosts/${b.hostId}/repositories/${a.repoId}`, { primary: false });
    expect(link.status, link.text).toBe(200);
    const x = snap('ledger-shared-a', ['/etc'], '2026-11-01T10:00:00.000Z');
    const y = snap('ledger-shared-a', ['/etc'], '2026-11-02T10:00:00.000Z');
    await runJob(a.agent, a.hostId, 'backup', { paths: ['/etc'] }, [x, y]);
    await settled(a.repoId, 2, 0);

    await a.agent.close();
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.status === 'offline');
    const queued = await h.admin.req('POST', `/api/hosts/${a.hostId}/jobs`, { kind: 'forget', args: { policy: { keep_last: 1 } } });
    expect(queued.status, queued.text).toBe(202); // not frozen yet: it waits for the host

    // Host b lists the shared repository (its job names it): y is gone, and no forget ran.
    const run = await h.admin.req('POST', `/api/hosts/${b.hostId}/jobs`, { kind: 'snapshots', args: {}, repository_id: a.repoId });
    expect(run.status, run.text).toBe(202);
    const cmd = (await b.agent.next('command.run')) as { job_id: string };
    b.agent.started(cmd.job_id, 'snapshots');
    b.agent.finished(cmd.job_id, 'succeeded');
    b.agent.send({ type: 'snapshots.report', job_id: cmd.job_id, snapshots: [x] });
    await eventually(async () => (await repository(a.repoId)).frozen_since !== null);
    expect((await alerts(b.hostId, 'snapshot_vanished')).length).toBe(1); // on the host whose listing showed it
    expect((await repository(b.repoId)).frozen_since).toBeNull(); // b's own primary is not affected

    await a.agent.connect();
    const failed = await eventually(async () => {
      const j = (await h.admin.req('GET', `/api/jobs/${queued.body.job.id as string}`)).body as { status: string; error: string; error_kind: string };
      return j.status === 'failed' ? j : null;
    });
    expect(failed.error_kind).toBe('failed');
    expect(failed.error).toContain('forget refused: repository ');
    expect(a.agent.received.filter((m) => m.type === 'command.run')).toEqual([]);
    expect((await h.admin.req('POST', `/api/repositories/${a.repoId}/ledger/acknowledge`)).status).toBe(200);
    expect((await alerts(b.hostId, 'snapshot_vanished')).every((al) => al.resolved_at !== null)).toBe(true);
  });

  it('a replayed older listing neither brings back gone snapshots nor raises again', async () => {
    const { agent, hostId, repoId } = await host('ledger-replay');
    const a = snap('ledger-replay', ['/etc'], '2026-11-01T10:00:00.000Z');
    const b = snap('ledger-replay', ['/etc'], '2026-11-02T10:00:00.000Z');
    const old = await runJob(agent, hostId, 'backup', { paths: ['/etc'] }, [a]);
    await settled(repoId, 1, 0);
    await runJob(agent, hostId, 'backup', { paths: ['/etc'] }, [a, b]);
    await settled(repoId, 2, 0);
    await runJob(agent, hostId, 'snapshots', {}, [b]); // a vanishes
    await settled(repoId, 1, 1);
    await eventually(async () => (await alerts(hostId, 'snapshot_vanished')).length === 1);
    expect((await h.admin.req('POST', `/api/repositories/${repoId}/ledger/acknowledge`)).status).toBe(200);

    agent.send(old.report); // the first listing again: a present, b absent
    // The next job's frames are applied after it (one socket's frames are applied in order).
    await runJob(agent, hostId, 'check', {}, [b]);
    const entries = await settled(repoId, 1, 1);
    expect(entries.find((s) => s.snapshot_id === a.id)).toMatchObject({ removed_by_job_id: null }); // still gone: the replay did not bring it back
    expect(entries.find((s) => s.snapshot_id === a.id)?.acknowledged_at).not.toBeNull();
    expect(entries.find((s) => s.snapshot_id === b.id)?.gone_at).toBeNull(); // and did not make b vanish
    expect((await alerts(hostId, 'snapshot_vanished')).map((x) => x.resolved_at !== null)).toEqual([true]);
    expect((await repository(repoId)).frozen_since).toBeNull();
    expect(h.logs()).toContain('snapshot listing older than the last one applied (a replay); the ledger is unchanged');
  });

  it('a key added behind the server\'s back raises repository_keys_changed and freezes; an older repo.stats does not', async () => {
    const { agent, hostId, repoId } = await host('ledger-keys');
    const k1 = randomBytes(32).toString('hex');
    const k2 = randomBytes(32).toString('hex');
    const cfg = randomBytes(32).toString('hex');
    const stats = (jobId: string, keyIds: string[]) => ({ type: 'repo.stats', job_id: jobId, size_bytes: 10, snapshot_count: 0, dedup_ratio: null, key_ids: keyIds, config_id: cfg });
    const first = await runJob(agent, hostId, 'snapshots', {}, []);
    agent.send(stats(first.jobId, [k1]));
    const second = await runJob(agent, hostId, 'snapshots', {}, []);
    agent.send(stats(second.jobId, [k1.slice(0, 8)])); // a short id of the same key: no change
    agent.send(stats(first.jobId, [])); // an older listing (a replay): ignored
    const third = await runJob(agent, hostId, 'snapshots', {}, []);
    agent.send(stats(third.jobId, [k1, k2]));
    const [alert] = await eventually(async () => {
      const open = await alerts(hostId, 'repository_keys_changed');
      return open.length ? open : null;
    });
    expect(alert).toMatchObject({ severity: 'critical' });
    expect(alert!.message).toContain(`key(s) added: ${k2.slice(0, 8)}`);
    expect(alert!.message).not.toContain('removed');
    const r = await repository(repoId);
    expect(r.frozen_reason).toBe(`frozen since ${r.frozen_since}: the repository's key(s) added: ${k2.slice(0, 8)} (not by the server's temporary restore keys)`);
    expect((await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'prune', args: {} })).status).toBe(409);
    const ack = await h.admin.req('POST', `/api/repositories/${repoId}/ledger/acknowledge`);
    expect(ack.body).toMatchObject({ acknowledged_snapshots: 0, keys_change_acknowledged: true });
    expect((await alerts(hostId, 'repository_keys_changed'))[0]?.resolved_at).not.toBeNull();
    expect((await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'prune', args: {} })).status).toBe(202);
  });

  it('the server\'s own temporary restore key coming and going raises nothing; an unknown key right after a restore is compared again later', async () => {
    const a = await host('ledger-key-src');
    const b = await host('ledger-key-dst');
    const k0 = randomBytes(32).toString('hex');
    const temp = randomBytes(32).toString('hex');
    const intruder = randomBytes(32).toString('hex');
    const s1 = snap('ledger-key-src', ['/home'], '2026-11-01T10:00:00.000Z');
    const stats = (jobId: string, keyIds: string[]) => ({ type: 'repo.stats', job_id: jobId, size_bytes: 10, snapshot_count: 1, dedup_ratio: null, key_ids: keyIds, config_id: k0 });
    const listing = async (keyIds: string[]) => {
      const j = await runJob(a.agent, a.hostId, 'snapshots', {}, [s1]);
      a.agent.send(stats(j.jobId, keyIds));
      // The next frame on the socket is applied after it: a job event the test can wait for.
      return j.jobId;
    };
    await listing([k0]);
    // The source agent adds and removes the temporary key; restic 0.14 names it by its short id.
    a.agent.o.onMessage = (m, ag) => {
      if (m.type === 'repo.key.add') ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: temp.slice(0, 8) });
      if (m.type === 'repo.key.remove') ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: m.key_id });
    };
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.total === 1);
    const restore = async () => {
      const r = await h.admin.req('POST', `/api/hosts/${b.hostId}/restore`, { source_host_id: a.hostId, snapshot_id: s1.short_id, target: '/srv/restore' });
      expect(r.status, r.text).toBe(202);
      return ((await b.agent.next('command.run')) as { job_id: string }).job_id;
    };
    const first = await restore();
    clock += 3 * 60_000; // past the window in which a restore may still be adding its key: only the recorded key id excuses it
    await h.admin.login('admin', ADMIN_PASSWORD);
    await listing([k0, temp]); // the source lists its keys while the temporary one exists
    b.agent.started(first, 'restore');
    b.agent.finished(first, 'succeeded');
    await eventually(async () => ((await h.admin.req('GET', `/api/audit?action=restore.credential.revoke&target_id=${first}`)).body.total as number) > 0);
    await listing([k0]); // and after it was removed
    expect(await alerts(a.hostId, 'repository_keys_changed')).toEqual([]);

    await restore(); // another restore, just created: its key may be on its way
    await listing([k0, intruder]); // compared again with a later listing instead
    await listing([k0, intruder]);
    expect(await alerts(a.hostId, 'repository_keys_changed')).toEqual([]);
    expect((await repository(a.repoId)).frozen_since).toBeNull();

    clock += 3 * 60_000;
    await h.admin.login('admin', ADMIN_PASSWORD);
    await listing([k0, intruder]);
    const [alert] = await eventually(async () => {
      const open = await alerts(a.hostId, 'repository_keys_changed');
      return open.length ? open : null;
    });
    expect(alert!.message).toContain(`key(s) added: ${intruder.slice(0, 8)}`);
    expect(alert!.message).not.toContain(temp.slice(0, 8));
    expect((await h.admin.req('POST', `/api/repositories/${a.repoId}/ledger/acknowledge`)).status).toBe(200);
  });

  it('the repository page shows the frozen banner, the acknowledge button (admin) and the ledger, gone first', async () => {
    const { agent, hostId, repoId } = await host('ledger-web');
    const keep = snap('ledger-web', ['/data'], '2026-11-05T10:00:00.000Z');
    const lost = snap('ledger-web', ['/data'], '2026-11-04T10:00:00.000Z');
    await runJob(agent, hostId, 'backup', { paths: ['/data'] }, [keep, lost]);
    await settled(repoId, 2, 0);
    await runJob(agent, hostId, 'snapshots', {}, [keep]);
    await eventually(async () => (await repository(repoId)).frozen_since !== null);
    const page = await h.admin.req('GET', `/repositories/${repoId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="repository-frozen"');
    expect(page.text).toContain('1 snapshot vanished without an authorised forget');
    expect(page.text).toContain(`hx-post="/repositories/${repoId}/ledger/acknowledge"`);
    const hostRepo = await h.admin.req('GET', `/hosts/${hostId}/repo`);
    expect(hostRepo.text).toMatch(/<span class="badge danger"[^>]*>frozen<\/span>/);
    const list = await h.admin.req('GET', '/repositories');
    expect(list.text).toMatch(new RegExp(`href="/repositories/${repoId}">[^<]*</a> <span class="badge danger"[^>]*>frozen</span>`));
    const rows = [...page.text.matchAll(/data-ledger-snapshot="([0-9a-f]+)" data-state="(\w+)"/g)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual([[lost.short_id, 'vanished'], [keep.short_id, 'present']]);

    const op = await asOperator();
    const opPage = await op.req('GET', `/repositories/${repoId}`);
    expect(opPage.text).toContain('An admin must acknowledge it.');
    expect(opPage.text).not.toContain('ledger/acknowledge');
    expect((await op.req('POST', `/repositories/${repoId}/ledger/acknowledge`, '', hdr)).status).toBe(403);

    const ack = await h.admin.req('POST', `/repositories/${repoId}/ledger/acknowledge`, '', hdr);
    expect(ack.status, ack.text).toBeLessThan(400);
    const after = await h.admin.req('GET', `/repositories/${repoId}`);
    expect(after.text).not.toContain('id="repository-frozen"');
    expect(after.text).toMatch(new RegExp(`data-ledger-snapshot="${lost.short_id}" data-state="acknowledged"`));
  });
});
