import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServerMessage } from '@restic-manager/protocol';
import { FakeAgent } from '@restic-manager/server/testing';
import { answerLog } from './helpers/answers.js';
import { useConnectedAgent } from './helpers/connected-agent.js';
import { REPO, useHarness } from './helpers/harness.js';

/*
 * Repositories as their own objects (issue 15): CRUD with per-backend write-only credentials,
 * host links, schedule/job targets, the connection test through an agent, and the bar that no
 * secret ever shows in a response, the audit table or the logs.
 */
const S3_SECRET = 's3-secret-MARKER-9f1c7e';
const S3_KEY = 'AKIA-MARKER-31d0';
const REPO_PW = 'repo-password-MARKER-77e1';
const REST_PW = 'rest-password-MARKER-0a2b';
const SECRETS = [S3_SECRET, S3_KEY, REPO_PW, REST_PW];

const s3Repo = (name: string) => ({
  name, url: `s3:https://s3.example.com/bucket/${name}`, password: REPO_PW,
  credentials: { backend: 's3', access_key_id: S3_KEY, secret_access_key: S3_SECRET, region: 'eu-west-1', path_style: true },
});

describe('repositories API', () => {
  const h = useHarness();
  const answers: { ok: boolean; snapshot_count: number | null; error_kind: string | null; error: string | null }[] = [];
  // The fake agent answers repo.test from a queue of scripted answers.
  const host = useConnectedAgent(h, 'repo-host', REPO, {
    onMessage: (m: ServerMessage, a: FakeAgent) => {
      if (m.type !== 'repo.test') return;
      const next = answers.shift() ?? { ok: true, snapshot_count: 0, error_kind: null, error: null };
      a.send({ type: 'repo.test.result', request_id: m.request_id, empty: false, ...next });
    },
  });
  const { seen, req } = answerLog(() => h.admin);
  const count = async () => (await req('GET', '/api/repositories?limit=100')).body.total as number;

  beforeAll(async () => {
    await host.agent.next('schedule.set');
  });

  it('creates an S3 repository: credentials shown as _set flags, the host-created repository is listed with its link', async () => {
    const before = await req('GET', '/api/repositories');
    expect(before.body.items).toHaveLength(1);
    expect(before.body.items[0]).toMatchObject({ backend: 'rest', engine: 'restic', host_ids: [host.hostId], credentials: { backend: 'rest', username: 'host-a', password_set: true }, password_set: true });

    const r = await req('POST', '/api/repositories', s3Repo('offsite'));
    expect(r.status).toBe(201);
    expect(r.body.generated_password).toBeUndefined();
    expect(r.body.repository).toMatchObject({
      name: 'offsite', backend: 's3', engine: 'restic', password_set: true, host_ids: [], tls_ca_set: false,
      credentials: { backend: 's3', access_key_id_set: true, secret_access_key_set: true, region: 'eu-west-1', path_style: true },
    });
    const got = await req('GET', `/api/repositories/${r.body.repository.id}`);
    expect(got.body).toEqual(r.body.repository);
  });

  it('generates a password when none is given and returns it once', async () => {
    const r = await req('POST', '/api/repositories', { name: 'local-one', url: '/srv/restic/local-one' });
    expect(r.status).toBe(201);
    expect(r.body.generated_password).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(r.body.repository).toMatchObject({ backend: 'local', credentials: { backend: 'local' }, password_set: true });
    expect(JSON.stringify((await req('GET', `/api/repositories/${r.body.repository.id}`)).body)).not.toContain(r.body.generated_password);
  });

  it.each([
    ['an unknown backend', { name: 'x', url: 'ftp://example.com/repo', password: REPO_PW }, 'url'],
    ['a missing credential field', { ...s3Repo('x'), credentials: { backend: 's3', access_key_id: S3_KEY } }, 'credentials.secret_access_key'],
    ['missing credentials for S3', { name: 'x', url: 's3:https://s3.example.com/b/x', password: REPO_PW }, 'credentials'],
    ['a URL with embedded credentials', { name: 'x', url: `rest:http://user:${REST_PW}@127.0.0.1:8000/x/`, password: REPO_PW }, 'url'],
    ['credentials for another backend', { ...s3Repo('x'), credentials: { backend: 'rest', username: 'u', password: REST_PW } }, 'credentials.backend'],
    ['an import without its password', { name: 'x', url: '/srv/restic/x', import: true }, 'password'],
  ])('refuses %s with 400 naming the field and writes nothing', async (_what, body, field) => {
    const n = await count();
    const r = await req('POST', '/api/repositories', body);
    expect(r.status, r.text).toBe(400);
    expect(Object.keys(r.body.error.fields)).toContain(field);
    for (const s of SECRETS) expect(r.text).not.toContain(s);
    expect(await count()).toBe(n);
  });

  it('PATCH refuses credentials for another backend (naming credentials.backend) and keeps the stored ones', async () => {
    const c = await req('POST', '/api/repositories', s3Repo('patch-me'));
    const id = c.body.repository.id as string;
    const bad = await req('PATCH', `/api/repositories/${id}`, { name: 'renamed', credentials: { backend: 'b2', account_id: 'a', account_key: 'k' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty(['credentials.backend']);
    const after = await req('GET', `/api/repositories/${id}`);
    expect(after.body).toEqual(c.body.repository);
    const ok = await req('PATCH', `/api/repositories/${id}`, { name: 'renamed', credentials: { backend: 's3', access_key_id: S3_KEY, secret_access_key: `${S3_SECRET}-2` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ name: 'renamed', credentials: { backend: 's3', access_key_id_set: true, secret_access_key_set: true } });
    expect(ok.body.credentials.region).toBeUndefined();
    const audit = await h.server.db.selectFrom('audit_log').selectAll().where('action', '=', 'repository.update').where('target_id', '=', id).execute();
    expect(audit.map((a) => JSON.parse(a.payload))).toEqual([expect.objectContaining({ credentials_changed: true, name: 'renamed' })]);
  });

  it('links a repository to a host: config.update carries every linked repository with its credentials', async () => {
    const c = await req('POST', '/api/repositories', s3Repo('linked'));
    const id = c.body.repository.id as string;
    const link = await req('PUT', `/api/hosts/${host.hostId}/repositories/${id}`, {});
    expect(link.status).toBe(200);
    expect(link.body).toMatchObject({ primary: false, repository: { id, host_ids: [host.hostId] } });
    const cfg = await host.agent.next('config.update');
    if (cfg.type !== 'config.update') throw new Error('not config.update');
    expect(cfg.repository).toBe('rest:http://127.0.0.1:8000/host-a/');
    expect(cfg.rest_username).toBe('host-a');
    expect(cfg.repositories?.map((r) => r.url)).toEqual(['rest:http://127.0.0.1:8000/host-a/', s3Repo('linked').url]);
    expect(cfg.repositories?.[1]).toMatchObject({ id, engine: 'restic', password: REPO_PW, credentials: { backend: 's3', access_key_id: S3_KEY, secret_access_key: S3_SECRET } });
    const list = await req('GET', `/api/hosts/${host.hostId}/repositories`);
    expect(list.body.items.map((i: { primary: boolean; repository: { id: string } }) => [i.primary, i.repository.id === id])).toEqual([[true, false], [false, true]]);
  });

  it('schedules target a linked repository (schedule.set carries repository_id); an unlinked one is refused naming repository_id', async () => {
    const linked = (await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items[1].repository.id as string;
    const other = (await req('POST', '/api/repositories', s3Repo('unlinked'))).body.repository.id as string;
    const base = { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/etc'] };
    const bad = await req('POST', `/api/hosts/${host.hostId}/schedules`, { ...base, repository_id: other });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('repository_id');
    expect((await req('GET', `/api/hosts/${host.hostId}/schedules`)).body.items).toHaveLength(0);
    const ok = await req('POST', `/api/hosts/${host.hostId}/schedules`, { ...base, repository_id: linked });
    expect(ok.status).toBe(201);
    expect(ok.body.repository_id).toBe(linked);
    const set = await host.agent.next('schedule.set');
    if (set.type !== 'schedule.set') throw new Error('not schedule.set');
    expect(set.schedules.map((s) => s.repository_id)).toEqual([linked]);

    // In use: delete names schedules first, then hosts; unlink names schedules.
    const del = await req('DELETE', `/api/repositories/${linked}`);
    expect(del.status).toBe(409);
    expect(del.body.error.fields).toHaveProperty('schedules');
    const unl = await req('DELETE', `/api/hosts/${host.hostId}/repositories/${linked}`);
    expect(unl.status).toBe(409);
    expect(unl.body.error.fields).toHaveProperty('schedules');
    await req('DELETE', `/api/schedules/${ok.body.id}`);
    const del2 = await req('DELETE', `/api/repositories/${linked}`);
    expect(del2.status).toBe(409);
    expect(del2.body.error.fields).toHaveProperty('hosts');
    expect((await req('GET', `/api/repositories/${linked}`)).status).toBe(200);
  });

  it('a run-now job against a non-primary repository carries it in command.run; an unlinked one is refused', async () => {
    const items = (await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items;
    const linked = items[1].repository.id as string;
    const bad = await req('POST', `/api/hosts/${host.hostId}/jobs`, { kind: 'check', args: {}, repository_id: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('repository_id');
    const run = await req('POST', `/api/hosts/${host.hostId}/jobs`, { kind: 'check', args: {}, repository_id: linked });
    expect(run.status).toBe(202);
    const cmd = await host.agent.next('command.run');
    if (cmd.type !== 'command.run') throw new Error('not command.run');
    expect(cmd.repository).toMatchObject({ id: linked, password: REPO_PW, credentials: { backend: 's3' } });
    host.agent.finished(cmd.job_id, 'succeeded');
    const primary = await req('POST', `/api/hosts/${host.hostId}/jobs`, { kind: 'check', args: {}, repository_id: items[0].repository.id });
    expect(primary.status).toBe(202);
    const cmd2 = await host.agent.next('command.run');
    if (cmd2.type !== 'command.run') throw new Error('not command.run');
    expect(cmd2.repository).toBeUndefined();
    host.agent.finished(cmd2.job_id, 'succeeded');
  });

  it('a job the agent fires for a schedule targeting a linked repository records it; the host view shows its last backup', async () => {
    const linked = (await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items[1].repository.id as string;
    const sched = await req('POST', `/api/hosts/${host.hostId}/schedules`, { kind: 'backup', cron_expr: '0 5 * * *', paths: ['/srv'], repository_id: linked });
    expect(sched.status).toBe(201);
    await host.agent.next('schedule.set');
    const jobId = randomUUID();
    const at = new Date().toISOString();
    host.agent.send({ type: 'job.queued', job_id: jobId, seq: host.agent.nextSeq(jobId), kind: 'backup', queued_at: at, schedule_id: sched.body.id });
    host.agent.started(jobId, 'backup', sched.body.id);
    host.agent.finished(jobId, 'succeeded');
    await vi.waitFor(async () => expect((await req('GET', `/api/jobs/${jobId}`)).body.status).toBe('succeeded'));
    const row = await h.server.db.selectFrom('jobs').select('repository_id').where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(row.repository_id).toBe(linked);
    const items = (await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items as { primary: boolean; last_backup_at: string | null; repository: { id: string } }[];
    const finished = (await req('GET', `/api/jobs/${jobId}`)).body.finished_at as string;
    expect(items.find((i) => i.repository.id === linked)?.last_backup_at).toBe(finished);
    expect(items.find((i) => i.primary)?.last_backup_at).not.toBe(finished);
    expect((await req('DELETE', `/api/schedules/${sched.body.id}`)).status).toBe(204);
    await host.agent.next('schedule.set');
  });

  it('forget on a non-primary append-only repository: refused (409) until it has a maintenance credential, then sent with it (audited)', async () => {
    const c = await req('POST', '/api/repositories', { name: 'ao', url: 'rest:http://127.0.0.1:8000/ao/', password: REPO_PW, append_only: true, credentials: { backend: 'rest', username: 'ao', password: REST_PW } });
    expect(c.status).toBe(201);
    expect(c.body.repository.append_only).toBe(true);
    const id = c.body.repository.id as string;
    await req('PUT', `/api/hosts/${host.hostId}/repositories/${id}`, {});
    await host.agent.next('config.update');
    const forget = { kind: 'forget', args: { policy: { keep_last: 3 } }, repository_id: id };
    const r = await req('POST', `/api/hosts/${host.hostId}/jobs`, forget);
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.fields).toHaveProperty('repository_id');
    expect(r.body.error.message).toContain(`/api/repositories/${id}/maintenance-credential`);

    const MAINT_PW = 'maint-rest-password-9d1e';
    expect((await req('GET', `/api/repositories/${id}/maintenance-credential`)).body).toMatchObject({ set: false, append_only: true });
    expect((await req('PUT', `/api/repositories/${id}/maintenance-credential`, { url: 'rest:http://127.0.0.1:8001/ao/', rest_username: 'ao-maint', rest_password: MAINT_PW })).body).toEqual({ set: true });
    const status = await req('GET', `/api/repositories/${id}/maintenance-credential`);
    expect(status.body).toMatchObject({ set: true, rest_username: 'ao-maint', url: 'rest:http://127.0.0.1:8001/ao/' });
    expect(status.text).not.toContain(MAINT_PW);
    const ok = await req('POST', `/api/hosts/${host.hostId}/jobs`, forget);
    expect(ok.status, ok.text).toBe(202);
    expect(ok.text).not.toContain(MAINT_PW);
    const run = await host.agent.next('command.run');
    if (run.type !== 'command.run') throw new Error('not command.run');
    expect(run).toMatchObject({ kind: 'forget', repository: { id, url: 'rest:http://127.0.0.1:8001/ao/', password: REPO_PW, credentials: { backend: 'rest', username: 'ao-maint', password: MAINT_PW } } });
    const uses = await h.server.db.selectFrom('audit_log').selectAll().where('action', '=', 'repo.maintenance_credential.use').where('target_id', '=', run.job_id).execute();
    expect(uses.map((u) => JSON.parse(u.payload))).toEqual([expect.objectContaining({ repository_id: id, job_kind: 'forget', rest_username: 'ao-maint' })]);
    // A backup into the same repository keeps the routine (append-only) user.
    await req('POST', `/api/hosts/${host.hostId}/jobs`, { kind: 'backup', args: { paths: ['/etc'] }, repository_id: id });
    expect(await host.agent.next('command.run')).toMatchObject({ kind: 'backup', repository: { credentials: { username: 'ao', password: REST_PW } } });
    // Only admins set it; clearing it refuses forget again.
    expect((await req('DELETE', `/api/repositories/${id}/maintenance-credential`)).body).toEqual({ set: false });
    expect((await req('POST', `/api/hosts/${host.hostId}/jobs`, forget)).status).toBe(409);
    await req('DELETE', `/api/hosts/${host.hostId}/repositories/${id}`);
    await host.agent.next('config.update');
    SECRETS.push(MAINT_PW);
  });

  it('tests a connection through the linked host agent; no online agent answers no_agent', async () => {
    const linked = (await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items[1].repository.id as string;
    answers.push({ ok: true, snapshot_count: 7, error_kind: null, error: null });
    const ok = await req('POST', `/api/repositories/${linked}/test`, {});
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true, empty: false, snapshot_count: 7, error_kind: null, error: null, host_id: host.hostId });
    expect((await req('GET', `/api/repositories/${linked}`)).body.snapshot_count).toBe(7);

    answers.push({ ok: false, snapshot_count: null, error_kind: 'wrong_credentials', error: `403 Forbidden for key ${S3_KEY}` });
    const bad = await req('POST', `/api/repositories/${linked}/test`, { host_id: host.hostId });
    expect(bad.body).toMatchObject({ ok: false, error_kind: 'wrong_credentials', host_id: host.hostId });
    expect(bad.text).not.toContain(S3_KEY);

    const lonely = (await req('POST', '/api/repositories', s3Repo('lonely'))).body.repository.id as string;
    const none = await req('POST', `/api/repositories/${lonely}/test`, {});
    expect(none.body).toMatchObject({ ok: false, error_kind: 'no_agent', host_id: null });
    const notLinked = await req('POST', `/api/repositories/${lonely}/test`, { host_id: host.hostId });
    expect(notLinked.status).toBe(400);
    expect(notLinked.body.error.fields).toHaveProperty('host_id');
  });

  it('unlinking: the only repository is refused; unlinking the primary promotes the other', async () => {
    const items = (await req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items;
    const [primary, second] = [items[0].repository.id as string, items[1].repository.id as string];
    const r = await req('DELETE', `/api/hosts/${host.hostId}/repositories/${primary}`);
    expect(r.status).toBe(204);
    expect((await req('GET', `/api/hosts/${host.hostId}`)).body.repo_id).toBe(second);
    const only = await req('DELETE', `/api/hosts/${host.hostId}/repositories/${second}`);
    expect(only.status).toBe(409);
    expect(only.body.error.fields).toHaveProperty('repo_id');
    // The former primary is now unused: it can be deleted.
    expect((await req('DELETE', `/api/repositories/${primary}`)).status).toBe(204);
    expect((await req('GET', `/api/repositories/${primary}`)).status).toBe(404);
  });

  it('an imported repository lists its snapshots without a backup: a snapshots job when it becomes the primary (linked, promoted or tested)', async () => {
    const promotedRun = await host.agent.next('command.run');
    expect(promotedRun).toMatchObject({ type: 'command.run', kind: 'snapshots' });
    const imported = await req('POST', '/api/repositories', { name: 'imported', url: '/srv/restic/imported', password: REPO_PW, import: true });
    expect(imported.status).toBe(201);
    const id = imported.body.repository.id as string;
    expect((await req('PUT', `/api/hosts/${host.hostId}/repositories/${id}`, { primary: true })).status).toBe(200);
    const run = await host.agent.next('command.run');
    if (run.type !== 'command.run') throw new Error('not command.run');
    expect(run.kind).toBe('snapshots');
    const job = await req('GET', `/api/jobs/${run.job_id}`);
    expect(job.body).toMatchObject({ kind: 'snapshots', host_id: host.hostId });
    // A successful test that finds snapshots in the host's primary lists them again.
    answers.push({ ok: true, snapshot_count: 4, error_kind: null, error: null });
    expect((await req('POST', `/api/repositories/${id}/test`, { host_id: host.hostId })).body).toMatchObject({ ok: true, snapshot_count: 4 });
    expect(await host.agent.next('command.run')).toMatchObject({ kind: 'snapshots' });
  });

  it('a pending host gets non-primary links only (its enrollment token sets the primary)', async () => {
    const add = await req('POST', '/api/hosts', { name: 'pending-1', repository: { url: '/srv/pending' } });
    const pending = add.body.host_id as string;
    const repo = (await req('POST', '/api/repositories', s3Repo('for-pending'))).body.repository.id as string;
    const bad = await req('PUT', `/api/hosts/${pending}/repositories/${repo}`, { primary: true });
    expect(bad.status).toBe(409);
    expect(bad.body.error.fields).toHaveProperty('primary');
    expect((await req('PUT', `/api/hosts/${pending}/repositories/${repo}`, {})).status).toBe(200);
    const enr = await FakeAgent.enroll(h.url, add.body.token as string, 'pending-1');
    expect(enr.status).toBe(201);
    const items = (await req('GET', `/api/hosts/${pending}/repositories`)).body.items as { primary: boolean; repository: { id: string; url: string } }[];
    expect(items.map((i) => [i.primary, i.repository.url])).toEqual([[true, '/srv/pending'], [false, s3Repo('for-pending').url]]);
    expect(items[1]?.repository.id).toBe(repo);
  });

  it('viewers read, only admins write', async () => {
    expect((await req('POST', '/api/users', { username: 'viewer1', password: 'viewer-password-long-1', role: 'viewer' })).status).toBe(201);
    const { Api } = await import('./helpers/harness.js');
    const v = new Api(h.url);
    await v.login('viewer1', 'viewer-password-long-1');
    expect((await v.req('GET', '/api/repositories')).status).toBe(200);
    expect((await v.req('POST', '/api/repositories', s3Repo('v'))).status).toBe(403);
  });

  it('no secret appears in any response, the audit table or the logs', async () => {
    const audit = await h.server.db.selectFrom('audit_log').selectAll().execute();
    const text = [...seen, JSON.stringify(audit), h.logs()].join('\n');
    for (const s of SECRETS) expect(text, s).not.toContain(s);
    expect(audit.some((a) => a.action === 'repository.create' && JSON.parse(a.payload).credentials_set === true)).toBe(true);
  });
});
