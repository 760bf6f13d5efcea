import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '@restic-manager/testkit';
import { X25519Identity } from '@restic-manager/vault/age';
import type { Harness } from './helpers/harness.js';
import { leaksOf, startHarness } from './helpers/harness.js';
import { answerLog } from './helpers/answers.js';

/*
 * Issue 20: Settings → Control-plane backup through the REST API, with real restic on SQLite
 * (and on a real PostgreSQL with RM_TEST_STORE=postgres: the copy is then pg_dump's).
 * Configure, run now → a snapshot tagged restic-manager-control-plane in the chosen Repository
 * object, the last run recorded; a wrong password and a missing repository fail with restic's
 * specific error and raise control_plane_backup_failed (resolved by the next success); the
 * repository password never shows in an answer, the audit table or the logs.
 */
const PW = 'cp-backup-password-MARKER-5d1e';
const WRONG_PW = 'other-password-MARKER-8b2c';
const TAG = 'restic-manager-control-plane';
const restic = requireTool('restic');

function resticJson(repo: string, password: string, args: string[]): unknown {
  const r = spawnSync('restic', ['--no-cache', ...args, '--json'], { env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`restic ${args[0]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n')[0] ?? 'null');
}

function resticLs(repo: string, password: string, snapshot: string): string[] {
  const r = spawnSync('restic', ['--no-cache', 'ls', '--json', snapshot], { env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`restic ls failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { name?: string; struct_type?: string }).filter((n) => n.struct_type === 'node').map((n) => n.name ?? '');
}

describe.skipIf(!restic.ok)('control-plane backup API (real restic; SQLite, or PostgreSQL with RM_TEST_STORE=postgres)', () => {
  let h: Harness;
  let tmp: string;
  let repoDir: string;
  let goodId: string;
  const { seen, req } = answerLog(() => h.admin);
  /** The database copy's name in the snapshot: the SQLite file, or pg_dump's output. */
  const dbFile = () => (h.databaseUrl ? 'postgres.dump' : 'restic-manager.db');
  const put = (body: Record<string, unknown>) => req('PUT', '/api/settings/control-plane-backup', body);
  const openAlerts = async () => (await req('GET', '/api/alerts?open=true&kind=control_plane_backup_failed')).body.items as { host_id: string | null; message: string }[];

  beforeAll(async () => {
    h = await startHarness();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rm-cp-api-'));
    repoDir = path.join(tmp, 'repo');
    const init = spawnSync('restic', ['init', '--repo', repoDir], { env: { ...process.env, RESTIC_PASSWORD: PW }, encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    const r = await req('POST', '/api/repositories', { name: 'control-plane', url: repoDir, password: PW });
    expect(r.status).toBe(201);
    goodId = r.body.repository.id as string;
  });
  afterAll(async () => {
    await h?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('starts disabled with no repository and no run; only admins read it', async () => {
    const r = await req('GET', '/api/settings/control-plane-backup');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ enabled: false, cron_expr: '0 3 * * *', time_zone: 'UTC', repository_id: null, recipients: [], include_key: true, last_run: null, next_run_at: null });
    const run = await req('POST', '/api/settings/control-plane-backup/run');
    expect(run.status).toBe(409);
    expect(run.body.error.message).toContain('repository_id');
  });

  it.each([
    [{ enabled: true, cron_expr: 'not a cron' }, 'cron_expr'],
    [{ enabled: true }, 'repository_id'],
    [{ repository_id: 'no-such-repository' }, 'repository_id'],
    [{ recipients: ['AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'] }, 'recipients'],
    [{ time_zone: 'Mars/Olympus' }, 'time_zone'],
  ])('refuses %j naming %s, and changes nothing', async (body, field) => {
    const r = await put(body);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body.error)).toContain(field);
    expect((await req('GET', '/api/settings/control-plane-backup')).body.repository_id).toBeNull();
  });

  it('saves the setting and runs now: a snapshot tagged restic-manager-control-plane holds the database, the key and manifest.json', async () => {
    const saved = await put({ enabled: true, cron_expr: '30 2 * * *', time_zone: 'Europe/Berlin', repository_id: goodId });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ enabled: true, cron_expr: '30 2 * * *', time_zone: 'Europe/Berlin', repository_id: goodId, repository_name: 'control-plane', include_key: true });
    expect(saved.body.next_run_at).toMatch(/T0[01]:30:00/); // 02:30 Berlin is 00:30 or 01:30 UTC

    const run = await req('POST', '/api/settings/control-plane-backup/run');
    expect(run.status, run.text).toBe(200);
    expect(run.body.last_run).toMatchObject({ status: 'succeeded', trigger: 'manual', error: null });
    expect(run.body.last_run.duration_ms).toBeGreaterThan(0);
    expect(run.body.running_since).toBeNull();
    expect(run.body.last_success_at).toBe(run.body.last_run.finished_at);
    const id = run.body.last_run.snapshot_id as string;
    const snaps = resticJson(repoDir, PW, ['snapshots', '--tag', TAG]) as { short_id: string; tags: string[] }[];
    expect(snaps.map((s) => s.short_id)).toEqual([id]);
    expect(snaps[0]?.tags).toEqual([TAG]);
    const files = resticLs(repoDir, PW, id);
    expect(files).toEqual(expect.arrayContaining(['manifest.json', dbFile(), 'secret.key']));
    // Recorded in the store: a second read sees the same last run.
    expect((await req('GET', '/api/settings/control-plane-backup')).body.last_run.snapshot_id).toBe(id);
  });

  it('with an age recipient and without the key: the database is encrypted and the key left out', async () => {
    const recipient = X25519Identity.generate().recipient.toString();
    expect((await put({ enabled: true, repository_id: goodId, recipients: [recipient], include_key: false })).status).toBe(200);
    const run = await req('POST', '/api/settings/control-plane-backup/run');
    expect(run.body.last_run.status).toBe('succeeded');
    const files = resticLs(repoDir, PW, run.body.last_run.snapshot_id as string);
    expect(files).toEqual(expect.arrayContaining(['manifest.json', `${dbFile()}.age`]));
    expect(files).not.toContain('secret.key');
    expect(files).not.toContain('secret.key.age');
    expect(files).not.toContain(dbFile());
  });

  it('a wrong password fails with restic\'s error and raises control_plane_backup_failed; a missing repository says so; the next success resolves it', async () => {
    const wrong = await req('POST', '/api/repositories', { name: 'wrong-password', url: repoDir, password: WRONG_PW });
    expect((await put({ enabled: true, repository_id: wrong.body.repository.id })).status).toBe(200);
    const run = await req('POST', '/api/settings/control-plane-backup/run');
    expect(run.status).toBe(200);
    expect(run.body.last_run).toMatchObject({ status: 'failed', snapshot_id: null });
    expect(run.body.last_run.error).toMatch(/wrong password/);
    expect(run.body.last_success_at).not.toBeNull(); // the earlier success stays
    const alerts = await openAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ host_id: null });
    expect(alerts[0]?.message).toMatch(/control-plane backup failed: .*wrong password/);

    const missing = await req('POST', '/api/repositories', { name: 'missing', url: path.join(tmp, 'no-repository-here'), password: PW });
    expect((await put({ enabled: true, repository_id: missing.body.repository.id })).status).toBe(200);
    const run2 = await req('POST', '/api/settings/control-plane-backup/run');
    expect(run2.body.last_run.status).toBe('failed');
    expect(run2.body.last_run.error).toMatch(/unable to open config file|Is there a repository/);
    expect(await openAlerts()).toHaveLength(1); // raised once

    expect((await put({ enabled: true, repository_id: goodId })).status).toBe(200);
    // The repository in use cannot be deleted from under the setting.
    const del = await req('DELETE', `/api/repositories/${goodId}`);
    expect(del.status).toBe(409);
    expect(del.body.error.fields).toHaveProperty('control_plane_backup');
    const ok = await req('POST', '/api/settings/control-plane-backup/run');
    expect(ok.body.last_run.status).toBe('succeeded');
    expect(await openAlerts()).toHaveLength(0);
  });

  it('audits settings and runs without secrets; no password in any answer, the audit table or the logs', async () => {
    const audit = await h.server.db.selectFrom('audit_log').select(['action', 'payload']).where('action', 'like', 'control_plane_backup.%').execute();
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['control_plane_backup.update', 'control_plane_backup.run']));
    for (const secret of [PW, WRONG_PW]) {
      expect(audit.map((a) => String(a.payload)).join('\n')).not.toContain(secret);
      expect(await leaksOf(h, secret, seen)).toEqual([]);
    }
  });
});
