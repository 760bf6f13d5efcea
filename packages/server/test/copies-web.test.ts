import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRun } from '@restic-manager/protocol';
import { answerLog } from './helpers/answers.js';
import { useConnectedAgent } from './helpers/connected-agent.js';
import { eventually, useHarness } from './helpers/harness.js';
import { HTMX_FORM, formBody } from './helpers/web-form.js';

/*
 * The Copies page (3-2-1, issue 15): list, add form (a refusal names the field and writes
 * nothing), edit, Run now, and the 3-2-1 cards on the host page and the dashboard. No secret of
 * either repository is ever rendered.
 */
const TARGET_PW = 'web-copy-target-pw-MARKER-e41b';
const SRC_PW = 'web-copy-source-pw-MARKER-0c9d';

describe('copies web UI', () => {
  let sourceId: string;
  let targetId: string;
  const h = useHarness({}, { mountWeb: undefined });
  const host = useConnectedAgent(h, 'web-copies', { url: '/srv/repo', password: SRC_PW }, { features: ['copy'] });
  const { seen: pages, get } = answerLog(() => h.admin);
  const count = async () => (await h.admin.req('GET', '/api/copy-policies')).body.total as number;

  beforeAll(async () => {
    sourceId = (await h.admin.req('GET', `/api/hosts/${host.hostId}/repositories`)).body.items[0].repository.id;
    targetId = (await h.admin.req('POST', '/api/repositories', { name: 'nas-copy', url: 'rest:https://nas.example.net:8000/web/', password: TARGET_PW })).body.repository.id;
  });

  it('shows an empty Copies page with the add form, linked from the repositories page', async () => {
    expect((await get('/repositories')).text).toContain('href="/copies"');
    const page = await get('/copies');
    expect(page.status).toBe(200);
    expect(page.text).toContain('No copy policies yet');
    expect(page.text).toContain('name="source_repository_id"');
    expect(page.text).toContain('nas-copy (rest, restic)');
  });

  it('refuses a copy into the source itself naming target_repository_id, writing nothing; then adds one', async () => {
    const bad = await h.admin.req('POST', '/copies', formBody({ source_repository_id: sourceId, target_repository_id: sourceId, host_id: '', mode: 'after_backup', cron_expr: '', time_zone: 'UTC', enabled: 'on' }), HTMX_FORM);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('target_repository_id');
    expect(await count()).toBe(0);
    const ok = await h.admin.req('POST', '/copies', formBody({ source_repository_id: sourceId, target_repository_id: targetId, host_id: '', mode: 'after_backup', cron_expr: '', time_zone: 'UTC', enabled: 'on' }), HTMX_FORM);
    expect(ok.status, ok.text).toBeLessThan(400);
    expect(await count()).toBe(1);
    const page = await get('/copies');
    expect(page.text).toContain('after each backup');
    expect(page.text).toContain('off-site');
  });

  it('edits a policy to a schedule and back; a schedule without cron is named', async () => {
    const id = (await h.admin.req('GET', '/api/copy-policies')).body.items[0].id as string;
    const edit = await get(`/copies/${id}`);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain('Save policy');
    const bad = await h.admin.req('POST', `/copies/${id}`, formBody({ target_repository_id: targetId, host_id: '', mode: 'schedule', cron_expr: '', time_zone: 'UTC', enabled: 'on' }), HTMX_FORM);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('cron_expr');
    const ok = await h.admin.req('POST', `/copies/${id}`, formBody({ target_repository_id: targetId, host_id: host.hostId, mode: 'schedule', cron_expr: '0 4 * * *', time_zone: 'Europe/Berlin', enabled: 'on' }), HTMX_FORM);
    expect(ok.status, ok.text).toBeLessThan(400);
    expect((await h.admin.req('GET', `/api/copy-policies/${id}`)).body).toMatchObject({ mode: 'schedule', cron_expr: '0 4 * * *', time_zone: 'Europe/Berlin', host_id: host.hostId });
    expect((await get('/copies')).text).toContain('0 4 * * *');
  });

  it('Run now queues a copy; the host page and the dashboard show the 3-2-1 status', async () => {
    const id = (await h.admin.req('GET', '/api/copy-policies')).body.items[0].id as string;
    expect((await get(`/hosts/${host.hostId}/repo`)).text).toContain('never copied');
    const run = await h.admin.req('POST', `/copies/${id}/run`, '', HTMX_FORM);
    expect(run.status).toBe(204);
    const cmd = (await host.agent.next('command.run')) as CommandRun;
    expect(cmd.kind).toBe('copy');
    host.agent.started(cmd.job_id, 'copy');
    host.agent.finished(cmd.job_id, 'succeeded');
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${host.hostId}/copy-status`)).body.state === 'up_to_date');
    const hostPage = await get(`/hosts/${host.hostId}/repo`);
    expect(hostPage.text).toContain('id="host-copy-status"');
    expect(hostPage.text).toContain('data-copy-state="up_to_date"');
    expect(hostPage.text).toContain('nas-copy');
    const dash = await get('/');
    expect(dash.text).toContain('id="copy-status"');
    expect(dash.text).toContain('web-copies');
    expect((await get('/copies')).text).toContain(`/jobs/${cmd.job_id}`);
  });

  it('deletes a policy from its page; no page ever held a repository password', async () => {
    const id = (await h.admin.req('GET', '/api/copy-policies')).body.items[0].id as string;
    const del = await h.admin.req('DELETE', `/copies/${id}`, undefined, { 'hx-request': 'true' });
    expect(del.status).toBeLessThan(400);
    expect(await count()).toBe(0);
    for (const s of [TARGET_PW, SRC_PW]) expect(pages.some((p) => p.includes(s)), s).toBe(false);
  });
});
