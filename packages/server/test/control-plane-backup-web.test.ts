import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '@restic-manager/testkit';
import type { Harness } from './helpers/harness.js';
import { Api, startHarness } from './helpers/harness.js';
import { formBody, HTMX_FORM } from './helpers/web-form.js';

/*
 * Issue 20: the Settings → Control-plane backup card (server-rendered HTMX). It renders for
 * admins only, saves through the same service as PUT /api/settings/control-plane-backup (a
 * refusal names the field and writes nothing), Run now backs up with real restic and shows the
 * last run; a failure shows restic's error in the card and a fleet alert on the alerts page. The
 * repository password is never rendered.
 */
const PW = 'web-cp-password-MARKER-3c7a';
const WRONG_PW = 'web-cp-wrong-MARKER-91d4';
const restic = requireTool('restic');

describe.skipIf(!restic.ok)('control-plane backup web card', () => {
  let h: Harness;
  let tmp: string;
  let goodId: string;
  let wrongId: string;
  const pages: string[] = [];
  const keep = <T extends { text: string }>(r: T): T => {
    pages.push(r.text);
    return r;
  };

  beforeAll(async () => {
    h = await startHarness({}, { mountWeb: undefined });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rm-cp-web-'));
    const repoDir = path.join(tmp, 'repo');
    const init = spawnSync('restic', ['init', '--repo', repoDir], { env: { ...process.env, RESTIC_PASSWORD: PW }, encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    goodId = (await h.admin.req('POST', '/api/repositories', { name: 'cp-web-repo', url: repoDir, password: PW })).body.repository.id;
    wrongId = (await h.admin.req('POST', '/api/repositories', { name: 'cp-web-wrong', url: repoDir, password: WRONG_PW })).body.repository.id;
  });
  afterAll(async () => {
    await h?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('renders the card on Settings for an admin: never run, the repositories to choose from', async () => {
    const page = keep(await h.admin.req('GET', '/settings'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="control-plane-backup"');
    expect(page.text).toContain('data-last-run="never"');
    expect(page.text).toContain('cp-web-repo (local)');
    expect(page.text).toContain('name="include_key"');
  });

  it('refuses a bad cron naming cron_expr and saves nothing; then saves the form', async () => {
    const bad = keep(await h.admin.req('PUT', '/settings/control-plane-backup', formBody({ enabled: 'on', cron_expr: 'every tuesday', time_zone: 'UTC', repository_id: goodId, recipients: '', include_key: 'on' }), HTMX_FORM));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('cron_expr');
    expect((await h.admin.req('GET', '/api/settings/control-plane-backup')).body.repository_id).toBeNull();

    const ok = keep(await h.admin.req('PUT', '/settings/control-plane-backup', formBody({ enabled: 'on', cron_expr: '15 4 * * *', time_zone: 'UTC', repository_id: goodId, recipients: '', include_key: 'on' }), HTMX_FORM));
    expect(ok.status, ok.text).toBe(200);
    expect(ok.text).toContain('id="control-plane-backup"');
    expect(ok.text).toContain('value="15 4 * * *"');
    const api = (await h.admin.req('GET', '/api/settings/control-plane-backup')).body;
    expect(api).toMatchObject({ enabled: true, cron_expr: '15 4 * * *', repository_id: goodId, include_key: true, recipients: [] });
    expect(api.next_run_at).toMatch(/T04:15:00/);
  });

  it('Run now backs up and shows the snapshot; a wrong password shows restic\'s error and a fleet alert', async () => {
    const run = keep(await h.admin.req('POST', '/settings/control-plane-backup/run', '', HTMX_FORM));
    expect(run.status, run.text).toBe(200);
    expect(run.text).toContain('data-last-run="succeeded"');
    const snapshotId = (await h.admin.req('GET', '/api/settings/control-plane-backup')).body.last_run.snapshot_id as string;
    expect(run.text).toContain(snapshotId);

    keep(await h.admin.req('PUT', '/settings/control-plane-backup', formBody({ enabled: 'on', cron_expr: '15 4 * * *', time_zone: 'UTC', repository_id: wrongId, recipients: '', include_key: 'on' }), HTMX_FORM));
    const failed = keep(await h.admin.req('POST', '/settings/control-plane-backup/run', '', HTMX_FORM));
    expect(failed.text).toContain('data-last-run="failed"');
    expect(failed.text).toMatch(/data-last-error[^>]*>[^<]*wrong password/);
    const alerts = keep(await h.admin.req('GET', '/alerts'));
    expect(alerts.text).toContain('control_plane_backup_failed');
    expect(alerts.text).toContain('fleet');
  });

  it('is for admins only: an operator sees no card and cannot save or run', async () => {
    expect((await h.admin.req('POST', '/api/users', { username: 'cp-operator', password: 'operator-password-for-tests-9', role: 'operator' })).status).toBe(201);
    const op = new Api(h.url);
    expect((await op.login('cp-operator', 'operator-password-for-tests-9')).status).toBe(200);
    const page = keep(await op.req('GET', '/settings'));
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('id="control-plane-backup"');
    expect((await op.req('PUT', '/settings/control-plane-backup', formBody({ cron_expr: '* * * * *', time_zone: 'UTC' }), HTMX_FORM)).status).toBe(403);
    expect((await op.req('POST', '/settings/control-plane-backup/run', '', HTMX_FORM)).status).toBe(403);
    expect((await op.req('GET', '/api/settings/control-plane-backup')).status).toBe(403);
  });

  it('never renders a repository password', () => {
    for (const secret of [PW, WRONG_PW]) expect(pages.filter((p) => p.includes(secret))).toEqual([]);
  });
});
