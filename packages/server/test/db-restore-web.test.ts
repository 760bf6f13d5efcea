import { beforeAll, describe, expect, it } from 'vitest';
import { useConnectedAgent } from './helpers/connected-agent.js';
import { eventually, useHarness } from './helpers/harness.js';
import { HTMX_FORM } from './helpers/web-form.js';

/* The restore wizard's "Restore into database" card: shown for a database snapshot only, password never pre-filled, posts a db_restore job. */
describe('restore wizard: Restore into database', () => {
  const PG = 'e5'.repeat(32);
  const FILES = 'f6'.repeat(32);
  const h = useHarness({}, { mountWeb: undefined });
  const host = useConnectedAgent(h, 'web-dbr', { url: '/srv/repo', password: 'repo-password-123456' }, { features: ['databases', 'db_restore'], configured: false });
  beforeAll(async () => {
    const snap = (id: string, paths: string[], tags: string[]) => ({ id, short_id: id.slice(0, 8), time: '2026-12-01T00:00:00Z', hostname: 'web-dbr', paths, tags });
    host.agent.send({ type: 'snapshots.report', snapshots: [snap(PG, ['/postgres/app.sql'], ['db:postgres', 'db-name:app']), snap(FILES, ['/etc'], [])] });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${host.hostId}/snapshots`)).body.total === 2);
  });

  it('a database snapshot gets the card with an empty password field; a file snapshot does not', async () => {
    const page = await h.admin.req('GET', `/hosts/${host.hostId}/restore?snapshot=${PG}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="db-restore-form"');
    expect(page.text).toMatch(/<input id="f-connection\.password" name="connection\.password" type="password" autocomplete="new-password"[^>]*>/);
    expect(page.text).not.toMatch(/name="connection\.password"[^>]*value=/);
    expect(page.text).toContain('value="app"');
    expect(page.text).toContain('Create the database first');
    const files = await h.admin.req('GET', `/hosts/${host.hostId}/restore?snapshot=${FILES}`);
    expect(files.text).not.toContain('id="db-restore-form"');
  });

  it('submitting queues a db_restore job and redirects to its page; a bad port is named', async () => {
    const form = (o: Record<string, string>) => new URLSearchParams({ snapshot_id: PG, 'connection.engine': 'postgres', 'connection.host': '127.0.0.1', 'connection.user': 'postgres', 'connection.password': 'web-pw-51ab', database: 'app', ...o }).toString();
    const bad = await h.admin.req('POST', `/hosts/${host.hostId}/restore/database`, form({ 'connection.port': 'five' }), HTMX_FORM);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('connection.port');
    const r = await h.admin.req('POST', `/hosts/${host.hostId}/restore/database`, form({ 'connection.port': '5432', create: 'true' }), HTMX_FORM);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('hx-redirect')).toMatch(/^\/jobs\/[0-9a-f-]+$/);
    expect(await host.agent.next('command.run')).toMatchObject({ kind: 'db_restore', args: { connection: { port: 5432, password: 'web-pw-51ab' }, database: 'app', create: true } });
  });
});
