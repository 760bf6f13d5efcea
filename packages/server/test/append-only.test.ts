import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { behindTheServer, enrolledAgent, startHarness } from './helpers/harness.js';

/*
 * Append-only only where the backend enforces it (issue 22): a REST server with --append-only.
 * A local path defaults to off and refuses true (400 naming repository.append_only); a flag
 * stored for a local repository before this change stays in the database but no longer blocks
 * forget/prune (the job's audit entry and the server log say why). The Add host form offers the
 * checkbox for REST URLs only.
 */
describe('append-only where the backend can enforce it', () => {
  let h: Harness;
  const hdr = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };
  const repoOf = async (hostId: string) => (await h.admin.req('GET', `/api/hosts/${hostId}/repo`)).body as { append_only: boolean; url: string };
  const forget = (hostId: string) => h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'forget', args: { policy: { keep_last: 2 } } });

  beforeAll(async () => {
    h = await startHarness({ databaseUrl: null }, { mountWeb: undefined }); // SQLite: one test edits a stored flag
  });
  afterAll(async () => h?.close());

  it('a local path: append_only defaults to off; true is refused with 400 naming repository.append_only and saying why', async () => {
    const refused = await h.admin.req('POST', '/api/hosts', { name: 'ao-local-true', repository: { url: '/srv/restic/ao', append_only: true } });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.error.code).toBe('validation_failed');
    expect(refused.body.error.fields['repository.append_only']).toMatch(/only be enforced by a REST server.*--append-only/);
    expect((await h.admin.req('GET', '/api/hosts?limit=100')).body.items.map((x: { name: string }) => x.name)).not.toContain('ao-local-true');
    for (const url of ['s3:https://s3.example/bucket/ao', 'sftp:backup@nas:/srv/ao']) {
      const r = await h.admin.req('POST', '/api/hosts', { name: `ao-${url.slice(0, 4)}`, repository: { url, append_only: true } });
      expect(r.status, url).toBe(400);
    }

    const { hostId } = await enrolledAgent(h, 'ao-local', { url: '/srv/restic/ao-local', password: 'ao-local-repo-password' });
    expect((await repoOf(hostId)).append_only).toBe(false);
    const rotate = await h.admin.req('PUT', `/api/hosts/${hostId}/credentials`, { repository: { url: '/srv/restic/ao-local', password: 'ao-local-repo-password-2', append_only: true } });
    expect(rotate.status).toBe(400);
    expect(rotate.body.error.fields['repository.append_only']).toMatch(/REST server/);
  });

  it('forget on a local repository is not refused for a flag it cannot enforce', async () => {
    const { hostId } = await enrolledAgent(h, 'ao-forget', { url: '/srv/restic/ao-forget', password: 'ao-forget-repo-password' });
    const r = await forget(hostId);
    expect(r.status, r.text).toBe(202);
  });

  it('a local repository stored as append-only before: the flag is kept, forget/prune run, and the audit entry and the log say why', async () => {
    const { hostId } = await enrolledAgent(h, 'ao-legacy', { url: '/srv/restic/ao-legacy', password: 'ao-legacy-repo-password' });
    const exec = await behindTheServer(h);
    try {
      expect(await exec("UPDATE repos SET append_only = 1 WHERE url = '/srv/restic/ao-legacy'")).toBe(1); // as the old default stored it
      for (const kind of ['forget', 'prune'] as const) {
        const r = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind, args: kind === 'forget' ? { policy: { keep_last: 2 } } : {} });
        expect(r.status, r.text).toBe(202);
        const audit = await h.admin.req('GET', `/api/audit?target_id=${r.body.job.id as string}&limit=10`);
        const run = (audit.body.items as { action: string; payload: { note?: string } }[]).find((a) => a.action === 'job.run');
        expect(run?.payload.note).toMatch(new RegExp(`flagged append-only, but its backend cannot enforce that .*${kind} runs with the host's own credential`));
      }
      expect(h.logs()).toContain("cannot enforce that (only a REST server can); prune runs with the host's own credential");
      expect(await exec("SELECT 1 FROM repos WHERE url = '/srv/restic/ao-legacy' AND append_only = 1")).toBe(1); // still stored as it was
      expect((await repoOf(hostId)).append_only).toBe(false); // the view shows what is enforced
    } finally {
      await exec(null);
    }
  });

  it('REST: on by default with a REST user (forget then needs the maintenance credential), off without one; true allowed', async () => {
    const withUser = await enrolledAgent(h, 'ao-rest', { url: 'rest:http://127.0.0.1:8000/ao-rest/', rest_username: 'ao-rest' });
    expect((await repoOf(withUser.hostId)).append_only).toBe(true);
    const refused = await forget(withUser.hostId);
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toMatch(/append-only.*maintenance credential/);
    const noUser = await enrolledAgent(h, 'ao-rest-anon', { url: 'rest:http://127.0.0.1:8000/ao-rest-anon/' });
    expect((await repoOf(noUser.hostId)).append_only).toBe(false);
    const explicit = await enrolledAgent(h, 'ao-rest-explicit', { url: 'rest:http://127.0.0.1:8000/ao-rest-explicit/', append_only: true });
    expect((await repoOf(explicit.hostId)).append_only).toBe(true);
  });

  describe('the Add host form', () => {
    /** Enrolls the host the form created (its repository row is written at enrollment) and returns its id. */
    const hostIdOf = async (html: string, name: string): Promise<string> => {
      const token = /id="enroll-token">([^<]+)</.exec(html)?.[1] ?? '';
      return (await FakeAgent.enroll(h.url, token, name)).host_id;
    };
    const partial = (q: Record<string, string>) => h.admin.req('GET', `/partials/add-host/append-only?${new URLSearchParams(q).toString()}`);

    it('shows no append-only checkbox until the URL is a REST one, and asks for the field again when the URL or REST user changes', async () => {
      const page = await h.admin.req('GET', '/hosts/new');
      expect(page.status).toBe(200);
      expect(page.text).toContain('id="append-only-field"');
      expect(page.text).not.toContain('name="repository.append_only"');
      expect(page.text).toMatch(/name="repository.url"[^>]*hx-get="\/partials\/add-host\/append-only"/);
      expect(page.text).toMatch(/name="repository.rest_username"[^>]*hx-get="\/partials\/add-host\/append-only"/);
      expect(page.text).toContain('hx-include="[name=&#39;repository.url&#39;],[name=&#39;repository.rest_username&#39;]"');
    });

    it('the field: a checkbox (checked with a REST user) for a REST URL; an explanation and no checkbox for a local path', async () => {
      const rest = await partial({ 'repository.url': 'rest:https://rs.example:8000/w1/', 'repository.rest_username': 'w1' });
      expect(rest.text).toMatch(/<input type="checkbox" name="repository.append_only" value="true" checked/);
      const anon = await partial({ 'repository.url': 'rest:https://rs.example:8000/w1/', 'repository.rest_username': '' });
      expect(anon.text).toContain('name="repository.append_only"');
      expect(anon.text).not.toMatch(/name="repository.append_only" value="true" checked/);
      const local = await partial({ 'repository.url': '/srv/restic/w1', 'repository.rest_username': '' });
      expect(local.text).not.toContain('name="repository.append_only"');
      expect(local.text).toContain('only a REST server');
    });

    it('submitting: a local path without the checkbox is created with append_only off; a REST one keeps the box as ticked', async () => {
      const local = await h.admin.req('POST', '/hosts/new', new URLSearchParams({ name: 'ao-form-local', 'repository.url': '/srv/restic/ao-form' }).toString(), hdr);
      expect(local.status, local.text).toBe(200);
      expect((await repoOf(await hostIdOf(local.text, 'ao-form-local'))).append_only).toBe(false);
      const ticked = await h.admin.req('POST', '/hosts/new', new URLSearchParams({ name: 'ao-form-rest', 'repository.url': 'rest:https://rs.example:8000/f1/', 'repository.rest_username': 'f1', 'repository.append_only_offered': 'true', 'repository.append_only': 'true' }).toString(), hdr);
      expect((await repoOf(await hostIdOf(ticked.text, 'ao-form-rest'))).append_only).toBe(true);
      const unticked = await h.admin.req('POST', '/hosts/new', new URLSearchParams({ name: 'ao-form-rest2', 'repository.url': 'rest:https://rs.example:8000/f2/', 'repository.rest_username': 'f2', 'repository.append_only_offered': 'true' }).toString(), hdr);
      expect((await repoOf(await hostIdOf(unticked.text, 'ao-form-rest2'))).append_only).toBe(false);
      const stale = await h.admin.req('POST', '/hosts/new', new URLSearchParams({ name: 'ao-form-stale', 'repository.url': '/srv/restic/stale', 'repository.append_only_offered': 'true', 'repository.append_only': 'true' }).toString(), hdr);
      expect(stale.status).toBe(400);
      expect(stale.text).toContain('REST server');
    });
  });
});
