import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '@restic-manager/protocol';
import type { FakeAgent } from '@restic-manager/server/testing';
import { answerLog } from './helpers/answers.js';
import { useConnectedAgent } from './helpers/connected-agent.js';
import { Api, useHarness } from './helpers/harness.js';
import { HTMX_FORM, formBody } from './helpers/web-form.js';

/*
 * The Repositories pages (issue 15): the list and add form, per-backend credential inputs that
 * are never pre-filled (an empty one keeps the stored secret), "Test connection" showing the
 * specific answer, and the host page's repositories card with link / unlink.
 */
const SECRET = 'b2-key-MARKER-4c1d9e';
const REPO_PW = 'repo-pw-MARKER-88aa01';
const MAINT_PW = 'maint-pw-MARKER-51c0e2';

describe('repositories web UI', () => {
  let repoId: string;
  const h = useHarness({}, { mountWeb: undefined });
  const host = useConnectedAgent(h, 'web-repos', { url: '/srv/repo', password: 'repo-password-123456' }, {
    onMessage: (m: ServerMessage, a: FakeAgent) => {
      if (m.type === 'repo.test') a.send({ type: 'repo.test.result', request_id: m.request_id, ok: false, empty: false, snapshot_count: null, error_kind: 'unknown_bucket', error: 'bucket "nope" not found' });
    },
  });
  const { seen: pages, get } = answerLog(() => h.admin);

  it('lists repositories in the nav and on the page, with an add form per backend', async () => {
    const page = await get('/repositories');
    expect(page.status).toBe(200);
    expect(page.text).toContain('href="/repositories"');
    expect(page.text).toContain('/srv/repo');
    expect(page.text).toContain('web-repos');
    expect(page.text).toContain('name="credentials.b2.account_key"');
    expect(page.text).toContain('name="credentials.s3.secret_access_key"');
  });

  it('adds a B2 repository from the form; a missing credential field is named and nothing is written', async () => {
    const base = { name: 'offsite-b2', url: 'b2:my-bucket:hosts/web', engine: 'restic', password: REPO_PW };
    const bad = await h.admin.req('POST', '/repositories', formBody({ ...base, 'credentials.b2.account_id': 'acc-1' }), HTMX_FORM);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('credentials.account_key');
    expect((await h.admin.req('GET', '/api/repositories')).body.total).toBe(1);
    const ok = await h.admin.req('POST', '/repositories', formBody({ ...base, 'credentials.b2.account_id': 'acc-1', 'credentials.b2.account_key': SECRET, 'credentials.s3.access_key_id': 'ignored' }), HTMX_FORM);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.text).toContain('offsite-b2');
    const list = (await h.admin.req('GET', '/api/repositories')).body.items as { id: string; name: string; credentials: Record<string, unknown> }[];
    const created = list.find((r) => r.name === 'offsite-b2')!;
    repoId = created.id;
    expect(created.credentials).toEqual({ backend: 'b2', account_id_set: true, account_key_set: true });
  });

  it('the edit page never pre-fills a secret; saving with it empty keeps the stored one', async () => {
    const page = await get(`/repositories/${repoId}`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<input id="f-credentials\.account_key" name="credentials\.account_key" type="password" value="" placeholder="set"/);
    const r = await h.admin.req('POST', `/repositories/${repoId}`, formBody({ name: 'offsite-b2-renamed', 'credentials.account_id': '', 'credentials.account_key': '' }), HTMX_FORM);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('hx-redirect')).toBe(`/repositories/${repoId}`);
    const after = (await h.admin.req('GET', `/api/repositories/${repoId}`)).body;
    expect(after).toMatchObject({ name: 'offsite-b2-renamed', credentials: { backend: 'b2', account_id_set: true, account_key_set: true } });
    // Linking it sends the kept secret to the agent.
    const link = await h.admin.req('POST', `/hosts/${host.hostId}/repositories`, formBody({ repo_id: repoId }), HTMX_FORM);
    expect(link.status, link.text).toBe(200);
    const cfg = await host.agent.next('config.update');
    if (cfg.type !== 'config.update') throw new Error('not config.update');
    expect(cfg.repositories?.find((x) => x.id === repoId)?.credentials).toEqual({ backend: 'b2', account_id: 'acc-1', account_key: SECRET });
  });

  it('the schedule form offers the linked repositories and saves the chosen one', async () => {
    const page = await get(`/hosts/${host.hostId}/schedules`);
    expect(page.text).toContain('id="f-repository_id"');
    expect(page.text).toContain(`value="${repoId}"`);
    await host.agent.next('schedule.set');
    const r = await h.admin.req('POST', `/hosts/${host.hostId}/schedules`, formBody({ kind: 'backup', cron_expr: '0 4 * * *', paths: '/etc', enabled: 'on', repository_id: repoId }), HTMX_FORM);
    expect(r.status, r.text).toBe(200);
    const set = await host.agent.next('schedule.set');
    if (set.type !== 'schedule.set') throw new Error('not schedule.set');
    expect(set.schedules.map((x) => x.repository_id)).toEqual([repoId]);
    const sched = (await h.admin.req('GET', `/api/hosts/${host.hostId}/schedules`)).body.items[0];
    expect(sched.repository_id).toBe(repoId);
    expect((await h.admin.req('DELETE', `/api/schedules/${sched.id}`)).status).toBe(204);
  });

  it('Test connection shows the specific answer; the host page lists its repositories', async () => {
    const t = await h.admin.req('POST', `/repositories/${repoId}/test`, '', HTMX_FORM);
    expect(t.status).toBe(200);
    expect(t.text).toContain('data-error-kind="unknown_bucket"');
    expect(t.text).toContain('no such bucket');
    const hostPage = await get(`/hosts/${host.hostId}/repo`);
    expect(hostPage.text).toContain('id="host-repositories"');
    expect(hostPage.text).toContain('offsite-b2-renamed');
    expect(hostPage.text).toContain('primary');
    // Per repository: size, snapshots, last backup and last copy (issue 15).
    const card = hostPage.text.slice(hostPage.text.indexOf('id="host-repositories"'));
    expect(card).toMatch(/<th class="num">Size<\/th><th class="num">Snapshots<\/th><th>Last backup<\/th><th>Last copy<\/th>/);
    const row = card.slice(card.indexOf(`data-repository="${repoId}"`), card.indexOf('</tr>', card.indexOf(`data-repository="${repoId}"`)));
    expect(row).toContain('never'); // the linked B2 repository has had no backup from this host
    // "Check" on a non-primary repository runs against it.
    const run = await h.admin.req('POST', `/hosts/${host.hostId}/run`, formBody({ kind: 'check', repository_id: repoId }), HTMX_FORM);
    expect(run.status, run.text).toBe(200);
    const cmd = await host.agent.next('command.run');
    if (cmd.type !== 'command.run') throw new Error('not command.run');
    expect(cmd.repository?.id).toBe(repoId);
    host.agent.finished(cmd.job_id, 'succeeded');
    const unlink = await h.admin.req('DELETE', `/hosts/${host.hostId}/repositories/${repoId}`, undefined, { 'hx-request': 'true' });
    expect(unlink.status, unlink.text).toBe(200);
    expect((await h.admin.req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items).toHaveLength(1);
  });

  it('a REST repository page sets its maintenance credential (missing fields named; the password never shown)', async () => {
    const c = await h.admin.req('POST', '/api/repositories', { name: 'ao-rest', url: 'rest:http://127.0.0.1:8000/ao/', password: REPO_PW, append_only: true, credentials: { backend: 'rest', username: 'ao', password: SECRET } });
    expect(c.status, c.text).toBe(201);
    const id = c.body.repository.id as string;
    const before = await get(`/repositories/${id}`);
    expect(before.text).toContain('Maintenance credential');
    expect(before.text).toContain(`hx-post="/repositories/${id}/maintenance-credential"`);
    const bad = await h.admin.req('POST', `/repositories/${id}/maintenance-credential`, formBody({ rest_username: 'ao-maint' }), HTMX_FORM);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('rest_password');
    const ok = await h.admin.req('POST', `/repositories/${id}/maintenance-credential`, formBody({ rest_username: 'ao-maint', rest_password: MAINT_PW, url: '' }), HTMX_FORM);
    expect(ok.status, ok.text).toBeLessThan(400);
    const after = await get(`/repositories/${id}`);
    expect(after.text).toContain('<code>ao-maint</code>');
    expect((await h.admin.req('GET', `/api/repositories/${id}/maintenance-credential`)).body).toMatchObject({ set: true, rest_username: 'ao-maint', url: null });
    // Not a REST repository: no such card.
    expect((await get(`/repositories/${repoId}`)).text).not.toContain('Maintenance credential');
  });

  it('viewers see the list without the add form and cannot post it', async () => {
    expect((await h.admin.req('POST', '/api/users', { username: 'viewer2', password: 'viewer-password-long-2', role: 'viewer' })).status).toBe(201);
    const v = new Api(h.url);
    await v.login('viewer2', 'viewer-password-long-2');
    const page = await v.req('GET', '/repositories');
    pages.push(page.text);
    expect(page.status).toBe(200);
    expect(page.text).toContain('/srv/repo');
    expect(page.text).not.toContain('id="add-repository"');
    expect(page.text).not.toContain('data-test-repository');
    expect((await v.req('POST', '/repositories', formBody({ name: 'x', url: '/srv/x' }), HTMX_FORM)).status).toBe(403);
  });

  it('no secret in any page', () => {
    for (const s of [SECRET, REPO_PW, MAINT_PW]) expect(pages.join('\n')).not.toContain(s);
  });
});
