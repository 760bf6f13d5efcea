import { describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { REPO, enrolledAgent, useHarness } from './helpers/harness.js';

describe('enrollment', () => {
  let clock = Date.now();
  const h = useHarness({}, { now: () => clock });

  const snapshot = async () => ({
    hosts: await h.server.db.selectFrom('hosts').selectAll().orderBy('id').execute(),
    repos: await h.server.db.selectFrom('repos').selectAll().orderBy('id').execute(),
    creds: await h.server.db.selectFrom('credentials').selectAll().orderBy('id').execute(),
    tokens: await h.server.db.selectFrom('enrollment_tokens').selectAll().orderBy('id').execute(),
  });
  const login = async () => {
    await h.admin.login('admin', 'admin-password-for-tests-1');
  };

  it('returns a generated 24-byte URL-safe password once with the htpasswd -B line, and stores the token hashed', async () => {
    const r = await h.admin.req('POST', '/api/hosts', { name: 'web-1', tags: ['prod'], repository: REPO });
    expect(r.status).toBe(201);
    expect(Buffer.from(r.body.generated_password, 'base64url')).toHaveLength(24);
    expect(r.body.htpasswd_line).toBe(`echo '${r.body.generated_rest_password}' | htpasswd -B -i /path/to/.htpasswd host-a`);
    expect(r.body.install_command).toBe(`curl -fsSL ${h.url}/install/install.sh | sudo RM_TOKEN=${r.body.token} bash`);
    const dump = JSON.stringify(await snapshot());
    for (const secret of [r.body.token, r.body.generated_password, r.body.generated_rest_password]) expect(dump).not.toContain(secret);
    const host = await h.admin.req('GET', `/api/hosts/${r.body.host_id}`);
    expect(host.body).toMatchObject({ status: 'pending', tags: ['prod'], repo_id: null });
    expect(JSON.stringify(host.body)).not.toContain(r.body.generated_password);
  });

  it('rejects credentials embedded in the repository URL', async () => {
    const r = await h.admin.req('POST', '/api/hosts', { name: 'x', repository: { url: 'rest:https://user:pw@host/repo' } });
    expect(r.status).toBe(400);
    expect(r.body.error.fields['repository.url']).toMatch(/rest_username/);
    expect(r.text).not.toContain('user:pw');
  });

  it('consumes a token once; reused, unknown and expired tokens get 410/401/410 and change nothing', async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 'db-1', repository: { url: 's3:https://s3.local/bucket', password: 'supplied-password' } });
    expect(add.body.generated_password).toBeUndefined();
    expect(add.body.htpasswd_line).toBeUndefined();
    const first = await FakeAgent.enroll(h.url, add.body.token, 'db-1.lan');
    expect(first.status).toBe(201);
    expect(first.host_id).toBe(add.body.host_id);
    expect(first.bearer_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const repo = await h.admin.req('GET', `/api/hosts/${first.host_id}/repo`);
    expect(repo.body).toMatchObject({ url: 's3:https://s3.local/bucket', kind: 's3', has_password: true, rest_username: null });

    const before = await snapshot();
    const reused = await FakeAgent.enroll(h.url, add.body.token);
    expect(reused.status).toBe(410);
    expect((reused as unknown as { error: { code: string } }).error.code).toBe('token_used');
    const unknown = await FakeAgent.enroll(h.url, 'no-such-token');
    expect(unknown.status).toBe(401);
    const fresh = await h.admin.req('POST', '/api/hosts', { name: 'late', repository: REPO });
    const beforeExpiry = await snapshot();
    clock += 3_600_001;
    const expired = await FakeAgent.enroll(h.url, fresh.body.token);
    expect(expired.status).toBe(410);
    expect((expired as unknown as { error: { code: string } }).error.code).toBe('token_expired');
    expect(await snapshot()).toEqual(beforeExpiry);
    expect(before.hosts.length + 1).toBe(beforeExpiry.hosts.length);
    clock -= 3_600_001;
    await login();
  });

  it('re-enrollment with a regenerated token revokes the old bearer', async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 're', repository: REPO });
    const one = await FakeAgent.enroll(h.url, add.body.token);
    const agent = new FakeAgent({ url: h.url, bearer: one.bearer_token });
    await agent.connect();
    const regen = await h.admin.req('POST', `/api/hosts/${add.body.host_id}/enrollment-token`, {});
    expect(regen.status).toBe(201);
    expect(regen.body.generated_password).toBeUndefined();
    const two = await FakeAgent.enroll(h.url, regen.body.token);
    expect(two.status).toBe(201);
    expect((await agent.closed).code).toBe(4001);
    await expect(new FakeAgent({ url: h.url, bearer: one.bearer_token }).open()).rejects.toThrow(/401/);
    const again = new FakeAgent({ url: h.url, bearer: two.bearer_token });
    await again.connect();
    expect(await again.next('config.update')).toMatchObject({ rest_username: 'host-a' });
    await again.close();
  });

  it('deleting a host closes its agent and revokes the bearer', async () => {
    const { agent, hostId, bearer } = await enrolledAgent(h, 'gone');
    await agent.connect();
    expect((await h.admin.req('DELETE', `/api/hosts/${hostId}`)).status).toBe(204);
    expect((await agent.closed).code).toBe(4001);
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).status).toBe(404);
    await expect(new FakeAgent({ url: h.url, bearer }).open()).rejects.toThrow(/401/);
  });

  it('replaces credentials of an enrolled host and pushes config.update to its agent', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'rotate');
    await agent.connect();
    await agent.next('config.update');
    const oldRepo = (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.repo_id;
    const r = await h.admin.req('PUT', `/api/hosts/${hostId}/credentials`, { repository: { url: 'rest:https://new.lan/rotate/', rest_username: 'rotate' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ pushed: true, host_id: hostId });
    expect(r.body.htpasswd_line).toContain('htpasswd -B -i');
    const host = (await h.admin.req('GET', `/api/hosts/${hostId}`)).body;
    expect(await agent.next('config.update')).toEqual({
      type: 'config.update', repository: 'rest:https://new.lan/rotate/', password: r.body.generated_password, rest_username: 'rotate', rest_password: r.body.generated_rest_password,
      // Issue 15: the host's repositories (here only the new primary) with their backend credentials.
      repositories: [{
        id: host.repo_id, name: 'rotate', engine: 'restic', url: 'rest:https://new.lan/rotate/', password: r.body.generated_password,
        credentials: { backend: 'rest', username: 'rotate', password: r.body.generated_rest_password },
      }],
    });
    expect(host.repo_id).not.toBe(oldRepo);
    expect((await h.admin.req('GET', `/api/repos/${oldRepo}`)).status).toBe(404);
    const pending = await h.admin.req('POST', '/api/hosts', { name: 'not-yet', repository: REPO });
    expect((await h.admin.req('PUT', `/api/hosts/${pending.body.host_id}/credentials`, { repository: REPO })).status).toBe(409);
    await agent.close();
  });

  it('shows an agent that reports no restic as degraded', async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 'no-restic', repository: REPO });
    const e = await FakeAgent.enroll(h.url, add.body.token);
    const agent = new FakeAgent({ url: h.url, bearer: e.bearer_token });
    await agent.open();
    agent.send({ type: 'hello', protocol_version: 1, agent_version: '1', restic_version: null, hostname: 'n', os: 'linux', arch: 'x64' });
    await agent.next('hello');
    expect((await h.admin.req('GET', `/api/hosts/${e.host_id}`)).body.status).toBe('degraded');
    await agent.close();
  });
});
