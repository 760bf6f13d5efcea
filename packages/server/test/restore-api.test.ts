import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { Api, REPO, enrolledAgent, eventually, startHarness } from './helpers/harness.js';

const SNAP = 'feedc0de'.padEnd(64, '1');

async function withSnapshot(h: Harness, agent: FakeAgent, hostId: string): Promise<void> {
  agent.send({ type: 'snapshots.report', snapshots: [{ id: SNAP, short_id: 'feedc0de', time: '2026-01-01T00:00:00Z', hostname: 'a', paths: ['/home'], tags: [] }] });
  await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}/snapshots`)).body.total === 1);
}

/**
 * Makes a fake source agent answer repo.key.add with `keyId` and every repo.key.remove; `added`
 * collects the temporary passwords it was given.
 */
function answerKeyRequests(agent: FakeAgent, keyId: string, added: string[] = []): string[] {
  agent.o.onMessage = (m, ag) => {
    if (m.type === 'repo.key.add') {
      added.push(m.password);
      ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: keyId });
    }
    if (m.type === 'repo.key.remove') ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: m.key_id });
  };
  return added;
}

describe('restore wizard API (fake agents)', () => {
  let h: Harness;
  let a: { agent: FakeAgent; hostId: string };
  let b: Awaited<ReturnType<typeof enrolledAgent>>;
  const bFrames: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
    a = await enrolledAgent(h, 'restore-a', { url: '/srv/restic/restore-a', password: 'source-repo-password-1', append_only: false });
    b = await enrolledAgent(h, 'restore-b', { ...REPO, password: 'target-repo-password-2' });
    await a.agent.connect();
    b.agent.o.onMessage = (m) => bFrames.push(JSON.stringify(m));
    await b.agent.connect();
    await withSnapshot(h, a.agent, a.hostId);
  });
  afterAll(async () => {
    await a.agent.close();
    await b.agent.close();
    await h.close();
  });

  const restore = (hostId: string, body: Record<string, unknown>) => h.admin.req('POST', `/api/hosts/${hostId}/restore`, body);

  it.each([
    [{ snapshot_id: 'feedc0de', target: 'relative/dir' }, 'target', /absolute/],
    [{ snapshot_id: 'feedc0de' }, 'target', /needs target/],
    [{ snapshot_id: 'feedc0de', restore_to: 'original', target: '/x' }, 'target', /leave target out/],
    [{ snapshot_id: 'feedc0de', target: '/' }, 'target', /original location/],
    [{ snapshot_id: 'feedc0de', target: '/srv/../etc' }, 'target', /\.\./],
    [{ snapshot_id: 'feedc0de', target: '/srv/restore/..' }, 'target', /\.\./],
    [{ snapshot_id: 'feedc0de', target: '/srv//./x/' }, 'target', /\. or \.\./],
    [{ snapshot_id: 'deadbeef', target: '/x' }, 'snapshot_id', /not among the snapshots of host restore-a/],
    [{ snapshot_id: 'latest', target: '/x' }, 'snapshot_id', /hex/],
    [{ snapshot_id: 'feedc0de', target: '/x', include: ['home'] }, 'include.0', /absolute/],
    [{ snapshot_id: 'feedc0de', target: '/x', include: ['/etc'], remap: [{ from: '/home/alice', to: '/home/alice-new' }] }, 'remap.0.from', /matches no selected path/],
    [{ snapshot_id: 'feedc0de', target: '/x', include: ['/home'], remap: [{ from: '/home/alice', to: '/n' }] }, 'remap.0.from', /inside the selected \/home/],
    [{ snapshot_id: 'feedc0de', target: '/x', include: ['/home/alice'], remap: [{ from: '/home/alice', to: 'rel' }] }, 'remap.0.to', /absolute/],
    [{ snapshot_id: 'feedc0de', target: '/x', source_host_id: 'no-such-host' }, 'source_host_id', /no host/],
    [{ snapshot_id: 'feedc0de', target: '/x', surprise: 1 }, 'body', /unrecognized|surprise/i],
  ] as [Record<string, unknown>, string, RegExp][])('refuses %j with 400 naming %s', async (body, field, re) => {
    const r = await restore(a.hostId, body);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    const text = `${r.body.error.message} ${JSON.stringify(r.body.error.fields ?? {})}`;
    expect(text).toMatch(re);
    if (field !== 'body') expect(Object.keys(r.body.error.fields ?? {})).toContain(field);
  });

  it('pages a directory through the agent and maps its errors; offline and silent agents give a clear 503', async () => {
    a.agent.o.onMessage = (m, ag) => {
      if (m.type !== 'snapshot.ls') return;
      if (m.path === '/missing') return ag.send({ type: 'snapshot.ls.result', request_id: m.request_id, error: '/missing does not exist', error_kind: 'not_found' });
      if (m.path === '/silent') return;
      const all = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, type: 'file', size: i, mtime: '2026-01-01T00:00:00Z', mode: 420 }));
      ag.send({ type: 'snapshot.ls.result', request_id: m.request_id, entries: all.slice(m.offset, m.offset + m.limit), has_more: m.offset + m.limit < all.length });
    };
    const ls = (q: string, hostId = a.hostId, snap = 'feedc0de') => h.admin.req('GET', `/api/hosts/${hostId}/snapshots/${snap}/ls?${q}`);
    const p1 = await ls('path=/home/&limit=2&offset=0');
    expect(p1.status, p1.text).toBe(200);
    expect(p1.body).toMatchObject({ snapshot_id: SNAP, path: '/home', has_more: true, entries: [{ name: 'f0', path: '/home/f0', mode: 420 }, { name: 'f1' }] });
    const p3 = await ls('path=/home&limit=2&offset=4');
    expect(p3.body.entries.map((e: { name: string }) => e.name)).toEqual(['f4']);
    expect(p3.body.has_more).toBe(false);
    const missing = await ls('path=/missing');
    expect([missing.status, missing.body.error.message]).toEqual([404, '/missing does not exist']);
    const unknown = await ls('path=/', a.hostId, 'deadbeef');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/snapshot deadbeef is not among the snapshots of host restore-a/);
    expect((await ls('path=relative')).status).toBe(400);
    h.server.services.browse.timeoutMs = 300;
    const silent = await ls('path=/silent');
    expect(silent.status).toBe(503);
    expect(silent.body.error.message).toMatch(/did not answer within .* older than this server/);
    h.server.services.browse.timeoutMs = 15_000;
    await a.agent.close();
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.status === 'offline');
    const offline = await ls('path=/home');
    expect(offline.status).toBe(503);
    expect(offline.body.error).toMatchObject({ code: 'agent_unavailable', message: expect.stringMatching(/agent of host restore-a is offline/) });
    await a.agent.connect();
  });

  it('cross-host: the target gets a temporary key of the source repository, removed when the job ends', async () => {
    const tempPasswords: string[] = [];
    answerKeyRequests(a.agent, 'abcdef0123456789', tempPasswords);
    const r = await restore(b.hostId, { source_host_id: a.hostId, snapshot_id: 'feedc0de', restore_to: 'original', include: ['/home/alice'], remap: [{ from: '/home/alice', to: '/home/alice-new' }] });
    expect(r.status, r.text).toBe(202);
    expect(JSON.stringify(r.body)).not.toContain(tempPasswords[0]);
    const run = await b.agent.next('command.run');
    expect(run).toMatchObject({ kind: 'restore', args: { snapshot_id: SNAP, target: '/', remap: [{ from: '/home/alice', to: '/home/alice-new' }] } });
    const cred = (run as { credential: { password: string; repository: string; note: string } }).credential;
    expect(cred.password).toBe(tempPasswords[0]);
    expect(cred.password).not.toBe('source-repo-password-1');
    expect(cred).not.toHaveProperty('rest_password');
    expect(cred.note).toMatch(/temporary key \(abcdef01\) of host restore-a/);
    b.agent.started(r.body.job.id, 'restore');
    b.agent.finished(r.body.job.id, 'succeeded');
    const removed = await a.agent.next('repo.key.remove');
    expect(removed).toMatchObject({ key_id: 'abcdef0123456789', job_id: r.body.job.id });
    const audit = await eventually(async () => {
      const items = (await h.admin.req('GET', `/api/audit?target_kind=job&target_id=${r.body.job.id}`)).body.items as { action: string; payload: Record<string, unknown>; actor_name: string }[];
      return items.some((i) => i.action === 'restore.credential.revoke') ? items : null;
    });
    expect(audit.map((i) => i.action).sort()).toEqual(['agent.command.run', 'job.restore', 'restore.credential.issue', 'restore.credential.revoke']);
    expect(audit.find((i) => i.action === 'restore.credential.issue')).toMatchObject({ actor_name: 'admin', payload: { mode: 'temporary_key' } });
    expect(audit.find((i) => i.action === 'restore.credential.revoke')?.payload).toMatchObject({ acting: { username: 'admin' } });
    expect(JSON.stringify(audit)).not.toContain(tempPasswords[0]);
  });

  it('cross-host: a restore cancelled before the target agent got it still has its temporary key removed', async () => {
    const removed: string[] = [];
    a.agent.o.onMessage = (m, ag) => {
      if (m.type === 'repo.key.add') ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: 'cafe0123cafe0123' });
      if (m.type === 'repo.key.remove') {
        removed.push(m.key_id);
        ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: m.key_id });
      }
    };
    await b.agent.close();
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${b.hostId}`)).body.status === 'offline');
    const r = await restore(b.hostId, { source_host_id: a.hostId, snapshot_id: 'feedc0de', target: '/srv/x' });
    expect(r.status, r.text).toBe(202);
    expect(r.body.dispatched).toBe(false);
    expect((await h.admin.req('POST', `/api/jobs/${r.body.job.id}/cancel`)).status).toBe(202);
    await eventually(async () => removed.includes('cafe0123cafe0123'));
    const revoke = await eventually(async () => (await h.admin.req('GET', `/api/audit?action=restore.credential.revoke&target_id=${r.body.job.id}`)).body.items[0]);
    expect(revoke.payload).toMatchObject({ job_status: 'cancelled', mode: 'temporary_key' });
    await b.agent.connect();
  });

  /** Source agent: key adds answered with `keyId`; the first `failing` removals fail with `error`. Returns the removals seen. */
  function failingRemovals(keyId: string, failing: number, error: string): string[] {
    const tries: string[] = [];
    a.agent.o.onMessage = (m, ag) => {
      if (m.type === 'repo.key.add') ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: keyId });
      if (m.type === 'repo.key.remove') {
        tries.push(m.key_id);
        ag.send(tries.length <= failing ? { type: 'repo.key.result', request_id: m.request_id, key_id: null, error } : { type: 'repo.key.result', request_id: m.request_id, key_id: m.key_id });
      }
    };
    return tries;
  }

  /** A cross-host restore from host a onto host b, run and finished by b's fake agent (retries every `retryMs`): its job id. */
  async function finishedCrossHost(target: string, retryMs: number): Promise<string> {
    h.server.services.restoreCredentials.timing.revokeRetryMs = retryMs;
    const r = await restore(b.hostId, { source_host_id: a.hostId, snapshot_id: 'feedc0de', target });
    expect(r.status, r.text).toBe(202);
    await b.agent.next('command.run');
    b.agent.finished(r.body.job.id, 'succeeded');
    return r.body.job.id as string;
  }

  it('cross-host: a removal that meets a lock is tried again while the source host stays online, until the key is gone', async () => {
    // the first two removals meet a lock held by a long job on the source repository
    const tries = failingRemovals('d00d0123d00d0123', 2, 'unable to create lock in backend: repository is already locked exclusively by PID 4242 on host-a');
    try {
      const jobId = await finishedCrossHost('/srv/retry', 100);
      const audit = await eventually(async () => {
        const items = (await h.admin.req('GET', `/api/audit?target_kind=job&target_id=${jobId}&limit=50`)).body.items as { action: string; payload: Record<string, unknown> }[];
        return items.some((i) => i.action === 'restore.credential.revoke') ? items : null;
      }, 10_000);
      expect(tries).toEqual(['d00d0123d00d0123', 'd00d0123d00d0123', 'd00d0123d00d0123']);
      const failed = audit.filter((i) => i.action === 'restore.credential.revoke_failed');
      expect(failed.map((i) => i.payload.retry_in_s).sort()).toEqual([0, 0]);
      expect(failed[0]!.payload.error).toMatch(/already locked exclusively by PID 4242/);
      const row = await h.server.db.selectFrom('restore_credentials').selectAll().where('job_id', '=', jobId).executeTakeFirst();
      expect(row).toMatchObject({ revoke_error: null, secret_enc: null });
      expect(row!.revoked_at).not.toBeNull();
    } finally {
      h.server.services.restoreCredentials.timing.revokeRetryMs = undefined;
    }
  });

  it('cross-host: after its retries a removal that keeps failing is left to the source host\'s next reconnect, and says so', async () => {
    const tries = failingRemovals('feed0123feed0123', Infinity, 'repository is already locked');
    try {
      const jobId = await finishedCrossHost('/srv/giveup', 20);
      const failed = await eventually(async () => {
        const items = ((await h.admin.req('GET', `/api/audit?action=restore.credential.revoke_failed&target_id=${jobId}&limit=50`)).body.items as { payload: Record<string, unknown> }[]);
        return items.length === 4 ? items : null;
      }, 10_000);
      expect(tries).toHaveLength(4);
      expect(failed.filter((i) => i.payload.retry === 'when the source host reconnects')).toHaveLength(1);
      // a reconnect of the source host tries once more, and this time the lock is gone
      failingRemovals('feed0123feed0123', 0, '');
      await a.agent.close();
      await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.status === 'offline');
      await a.agent.connect();
      await eventually(async () => (await h.admin.req('GET', `/api/audit?action=restore.credential.revoke&target_id=${jobId}`)).body.total === 1, 10_000);
    } finally {
      h.server.services.restoreCredentials.timing.revokeRetryMs = undefined;
    }
  });

  /** Every frame the target agent received so far, as text (recorded on arrival, never consumed). */
  const framesOf = (agent: FakeAgent): string => (agent === b.agent ? bFrames.join('\n') : JSON.stringify(agent.received));

  it('cross-host with the source offline: refused with the reason and the way out; the target agent receives nothing', async () => {
    await a.agent.close();
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.status === 'offline');
    const r = await restore(b.hostId, { source_host_id: a.hostId, snapshot_id: 'feedc0de', target: '/srv/restore' });
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.message).toMatch(/refused: this cross-host restore would give host restore-b host restore-a's permanent repository password, because host restore-a is offline\. Instead, bring host restore-a's agent online .*an admin can confirm a one-off with share_source_credential/);
    expect(Object.keys(r.body.error.fields)).toEqual(['share_source_credential']);
    expect(r.text).not.toContain('source-repo-password-1');
    expect(framesOf(b.agent)).not.toContain('source-repo-password-1');
    const issued = (await h.admin.req('GET', '/api/audit?action=restore.credential.issue')).body.items as { payload: { source_host_id: string; mode: string } }[];
    expect(issued.filter((i) => i.payload.source_host_id === a.hostId && i.payload.mode === 'stored_credential')).toEqual([]);
    await a.agent.connect();
  });

  it('cross-host with the source offline: an admin\'s one-off is audited as such and marks the source for rotation; an operator cannot confirm it; a rotation clears the mark', async () => {
    await a.agent.close();
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.status === 'offline');
    expect((await h.admin.req('POST', '/api/users', { username: 'restore-op', password: 'operator-password-for-tests-1', role: 'operator' })).status).toBe(201);
    const op = new Api(h.url);
    expect((await op.login('restore-op', 'operator-password-for-tests-1')).status).toBe(200);
    const body = { source_host_id: a.hostId, snapshot_id: 'feedc0de', target: '/srv/restore', share_source_credential: true };
    const denied = await op.req('POST', `/api/hosts/${b.hostId}/restore`, body);
    expect(denied.status, denied.text).toBe(403);
    expect(denied.body.error.message).toMatch(/only an admin can confirm/);
    expect(framesOf(b.agent)).not.toContain('source-repo-password-1');

    const r = await restore(b.hostId, body);
    expect(r.status, r.text).toBe(202);
    const run = (await b.agent.next('command.run')) as { credential: { password: string; note: string } };
    expect(run.credential.password).toBe('source-repo-password-1');
    expect(run.credential.note).toMatch(/host restore-a's stored repository password is used for this one job .*because host restore-a is offline; an admin confirmed sharing .* marked for rotation/);
    const shared = (await h.admin.req('GET', `/api/audit?action=restore.credential.permanent_shared&target_id=${a.hostId}`)).body.items[0];
    expect(shared).toMatchObject({ actor_name: 'admin', payload: { job_id: r.body.job.id, shared: ['repository_password'], rotation_required: true } });
    expect(JSON.stringify(shared)).not.toContain('source-repo-password-1');
    const marked = (await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body;
    expect(marked.credential_rotation).toMatchObject({ since: expect.any(String), reason: expect.stringMatching(/repository password went to host restore-b .*admin one-off by admin/) });
    b.agent.started(r.body.job.id, 'restore');
    b.agent.finished(r.body.job.id, 'succeeded');

    const rotated = await h.admin.req('PUT', `/api/hosts/${a.hostId}/credentials`, { repository: { url: '/srv/restic/restore-a', password: 'source-repo-password-rotated', append_only: false } });
    expect(rotated.status, rotated.text).toBe(200);
    expect((await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.credential_rotation).toBeNull();
    await a.agent.connect();
  });

  it('a source that does not answer repo.key.add in time: refused, not a silent fallback to its stored password', async () => {
    a.agent.o.onMessage = () => undefined; // never answers
    h.server.services.restore.keyTimeoutMs = 200;
    const before = bFrames.length;
    try {
      const r = await restore(b.hostId, { source_host_id: a.hostId, snapshot_id: 'feedc0de', target: '/srv/slow' });
      expect(r.status, r.text).toBe(409);
      expect(r.body.error.message).toMatch(/because host restore-a did not add a temporary key .*check that host restore-a's agent is up to date and responsive/);
      expect(bFrames.slice(before).join('\n')).not.toMatch(/source-repo-password|"command\.run"/);
    } finally {
      h.server.services.restore.keyTimeoutMs = 30_000;
    }
  });

  it('temporary-key mode: a source REST login the target does not already hold is refused (no frame), shared only as an admin one-off; the same REST user passes', async () => {
    const r1 = await enrolledAgent(h, 'restore-rest', { url: 'rest:http://127.0.0.1:8000/restore-rest/', rest_username: 'restore-rest', rest_password: 'rest-login-password-r1', password: 'rest-repo-password-r1', append_only: false });
    await r1.agent.connect();
    await withSnapshot(h, r1.agent, r1.hostId);
    const adds: string[] = [];
    answerKeyRequests(r1.agent, 'fade0123fade0123', adds);
    const body = { source_host_id: r1.hostId, snapshot_id: 'feedc0de', restore_to: 'directory' as const, target: '/srv/r', include: [], exclude: [], remap: [], verify: false };
    expect(await h.server.services.restore.preview(b.hostId, body)).toMatchObject({ credential: 'temporary_key', shares: ['rest_login'] });
    const refused = await restore(b.hostId, { source_host_id: r1.hostId, snapshot_id: 'feedc0de', target: '/srv/r' });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error.message).toMatch(/permanent REST login, because .*REST login.*restore on host restore-rest itself, or give both hosts the same REST user/);
    expect(adds).toEqual([]);
    expect(framesOf(b.agent)).not.toContain('rest-login-password-r1');

    const one = await restore(b.hostId, { source_host_id: r1.hostId, snapshot_id: 'feedc0de', target: '/srv/r', share_source_credential: true });
    expect(one.status, one.text).toBe(202);
    const run = (await b.agent.next('command.run')) as { credential: { password: string; rest_username?: string; rest_password?: string } };
    expect(run.credential).toMatchObject({ password: adds[0], rest_username: 'restore-rest', rest_password: 'rest-login-password-r1' });
    expect((await h.admin.req('GET', `/api/hosts/${r1.hostId}`)).body.credential_rotation.reason).toMatch(/REST login went to host restore-b/);
    b.agent.finished(one.body.job.id, 'succeeded');
    await r1.agent.close();

    // A source that uses the target's own REST user shares nothing new: a plain temporary-key restore.
    const same = await enrolledAgent(h, 'restore-same', { url: 'rest:http://127.0.0.1:8000/host-a/', rest_username: 'host-a', rest_password: b.add.generated_rest_password, password: 'same-user-repo-password', append_only: false });
    await same.agent.connect();
    await withSnapshot(h, same.agent, same.hostId);
    same.agent.o.onMessage = r1.agent.o.onMessage;
    const ok = await restore(b.hostId, { source_host_id: same.hostId, snapshot_id: 'feedc0de', target: '/srv/s' });
    expect(ok.status, ok.text).toBe(202);
    const run2 = (await b.agent.next('command.run')) as { credential: { password: string; rest_username?: string } };
    expect(run2.credential.password).toBe(adds[1]);
    expect(run2.credential.rest_username).toBe('host-a');
    expect((await h.admin.req('GET', `/api/hosts/${same.hostId}`)).body.credential_rotation).toBeNull();
    b.agent.finished(ok.body.job.id, 'succeeded');
    await same.agent.close();
  });

  it('append-only source: without a maintenance credential the restore is refused and no permanent password reaches the target; with one, a temporary key is used and removed', async () => {
    // Append-only needs a REST server to enforce it (a local path cannot be append-only).
    const c = await enrolledAgent(h, 'restore-c', { url: 'rest:http://127.0.0.1:8000/restore-c/', password: 'append-only-repo-password-3', append_only: true });
    await c.agent.connect();
    await withSnapshot(h, c.agent, c.hostId);
    const adds: string[] = [];
    const removes: { key_id: string; credential?: { rest_username?: string; rest_password?: string } }[] = [];
    c.agent.o.onMessage = (m, ag) => {
      if (m.type === 'repo.key.add') {
        adds.push(m.request_id);
        ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: 'beef0123beef0123' });
      }
      if (m.type === 'repo.key.remove') {
        removes.push({ key_id: m.key_id, ...(m.credential ? { credential: m.credential } : {}) });
        ag.send({ type: 'repo.key.result', request_id: m.request_id, key_id: m.key_id });
      }
    };
    const body = { source_host_id: c.hostId, snapshot_id: 'feedc0de', restore_to: 'directory' as const, target: '/srv/y', include: [], exclude: [], remap: [], verify: false };
    const preview = await h.server.services.restore.preview(b.hostId, body);
    expect(preview).toMatchObject({ credential: 'stored_credential', shares: ['repository_password'], credential_reason: expect.stringMatching(/append-only/), parts: [{ target: '/srv/y' }] });
    const first = await restore(b.hostId, { source_host_id: c.hostId, snapshot_id: 'feedc0de', target: '/srv/y' });
    expect(first.status, first.text).toBe(409);
    expect(first.body.error.message).toMatch(/because host restore-c's repository is append-only and has no maintenance credential.*set a maintenance credential for host restore-c/);
    expect(adds).toEqual([]);
    expect(framesOf(b.agent)).not.toContain('append-only-repo-password-3');

    const set = await h.admin.req('PUT', `/api/hosts/${c.hostId}/maintenance-credential`, { rest_username: 'maint-user', rest_password: 'maint-password-77' });
    expect(set.status, set.text).toBe(200);
    expect((await h.server.services.restore.preview(b.hostId, body)).credential).toBe('temporary_key');
    const second = await restore(b.hostId, { source_host_id: c.hostId, snapshot_id: 'feedc0de', target: '/srv/z' });
    expect(second.status, second.text).toBe(202);
    await b.agent.next('command.run');
    expect(adds).toHaveLength(1);
    b.agent.finished(second.body.job.id, 'succeeded');
    await eventually(async () => removes.length === 1);
    expect(removes[0]).toMatchObject({ key_id: 'beef0123beef0123', credential: { rest_username: 'maint-user', rest_password: 'maint-password-77' } });
    await c.agent.close();
  });
});
