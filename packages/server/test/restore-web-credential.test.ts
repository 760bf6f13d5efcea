import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { Api, enrolledAgent, eventually, startHarness } from './helpers/harness.js';

/*
 * The restore wizard's confirm step and submit when a cross-host restore would need the source's
 * permanent credential (here: an append-only source without a maintenance credential).
 */
describe('restore wizard: a permanent credential is shared only by an admin\'s one-off', () => {
  let h: Harness;
  let a: { agent: FakeAgent; hostId: string };
  let b: { agent: FakeAgent; hostId: string };
  let op: Api;
  const SNAP = 'abcdef12'.padEnd(64, '3');
  const PASSWORD = 'web-source-repo-password-5';
  const hdr = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };
  const form = (extra: Record<string, string> = {}) => new URLSearchParams({ snapshot_id: SNAP, target_host_id: b.hostId, restore_to: 'directory', target: '/srv/w', ...extra }).toString();

  beforeAll(async () => {
    h = await startHarness({}, { mountWeb: undefined });
    a = await enrolledAgent(h, 'web-src', { url: 'rest:http://127.0.0.1:8000/web-src/', password: PASSWORD, append_only: true }); // append-only needs a REST server
    b = await enrolledAgent(h, 'web-dst', { url: '/srv/repo-dst', password: 'web-target-repo-password-6' });
    await a.agent.connect();
    await b.agent.connect();
    a.agent.send({ type: 'snapshots.report', snapshots: [{ id: SNAP, short_id: SNAP.slice(0, 8), time: '2026-12-01T00:00:00Z', hostname: 'web-src', paths: ['/srv'], tags: [] }] });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.total === 1);
    expect((await h.admin.req('POST', '/api/users', { username: 'web-op', password: 'operator-password-for-tests-2', role: 'operator' })).status).toBe(201);
    op = new Api(h.url);
    expect((await op.login('web-op', 'operator-password-for-tests-2')).status).toBe(200);
  });
  afterAll(async () => {
    await a?.agent.close();
    await b?.agent.close();
    await h?.close();
  });

  it('the confirm step says the restore is refused and offers the one-off to admins only', async () => {
    const admin = await h.admin.req('POST', `/hosts/${a.hostId}/restore/review`, form(), hdr);
    expect(admin.status, admin.text).toBe(200);
    expect(admin.text).toMatch(/id="restore-credential"[^>]*>[^]*permanent<\/strong> repository password, so the restore is refused/);
    expect(admin.text).toContain('name="share_source_credential"');
    const operator = await op.req('POST', `/hosts/${a.hostId}/restore/review`, form(), hdr);
    expect(operator.status, operator.text).toBe(200);
    expect(operator.text).toContain('Ask an admin to confirm a one-off');
    expect(operator.text).not.toContain('name="share_source_credential"');
  });

  it('submit without the box is refused; with it, the job runs, the password goes to that one job and the source page says to rotate', async () => {
    const refused = await h.admin.req('POST', `/hosts/${b.hostId}/restore`, form({ source_host_id: a.hostId }), hdr);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.text).toMatch(/append-only and has no maintenance credential/);
    const ok = await h.admin.req('POST', `/hosts/${b.hostId}/restore`, form({ source_host_id: a.hostId, share_source_credential: 'true' }), hdr);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.headers.get('hx-redirect')).toMatch(/^\/jobs\/[0-9a-f-]+$/);
    expect(((await b.agent.next('command.run')) as { credential: { password: string } }).credential.password).toBe(PASSWORD);
    const page = await h.admin.req('GET', `/hosts/${a.hostId}`);
    expect(page.text).toMatch(/id="credential-rotation"[^>]*>[^]*Credential needs rotation[^]*repository password went to host web-dst/);
  });
});
