import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgres, startPostgres } from '@restic-manager/testkit';
import type { DbServer } from '@restic-manager/testkit';
import { startServerProcess } from './server-process.js';

/*
 * Issue 17: `restic-manager db copy` moves a populated SQLite install to PostgreSQL; the server
 * started on the copy (same data directory, so the same secret key) serves the same API answers,
 * opens the sealed secrets, and keeps writing (the audit id continues after the copied ones).
 * Real compiled CLI, real PostgreSQL from Debian.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/cli/dist/main.js');
const pgFound = findPostgres();
const ADMIN_PW = 'db-copy-admin-password-3e1';
const MAINT_PW = 'db-copy-maint-secret-77c2';
const S3_SECRET = 'db-copy-s3-secret-0a9d';

async function startServer(dataDir: string, env: Record<string, string> = {}) {
  const p = await startServerProcess({ RM_DATA_DIR: dataDir, RM_ADMIN_PASSWORD: ADMIN_PW, RM_LOG_LEVEL: 'warn', ...env });
  return { url: p.url, stop: async () => (p.child.kill('SIGTERM'), p.exited) };
}

async function session(url: string) {
  const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PW }) });
  expect(login.status).toBe(200);
  const cookie = (login.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const csrf = ((await login.json()) as { csrf_token?: string }).csrf_token ?? '';
  return async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${url}${p}`, { method, headers: { cookie, 'x-csrf-token': csrf, origin: url, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    return { status: r.status, text, body: text && r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  };
}

function dbCopy(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cli, 'db', ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 120_000 });
}

describe.skipIf(!existsSync(cli) || !pgFound.ok)('db copy: SQLite to PostgreSQL (compiled CLI, real PostgreSQL)', () => {
  let pg: DbServer;
  let dataDir: string;
  let target: string;
  let env: Record<string, string>;
  const before: Record<string, unknown> = {};
  const READS = ['/api/hosts?limit=100', '/api/repositories?limit=100', '/api/users', '/api/schedules?limit=100'];

  beforeAll(async () => {
    pg = await startPostgres();
    pg.sql('CREATE DATABASE rm_copy_target');
    target = `postgres://${pg.user}@127.0.0.1:${pg.port}/rm_copy_target`;
    env = { PGPASSWORD: pg.password };
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-db-copy-'));
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses while the server runs on the data directory; copies and verifies once it is stopped', async () => {
    const a = await startServer(dataDir);
    const api = await session(await a.url);
    expect((await api('POST', '/api/hosts', { name: 'web-1', repository: { url: 'rest:http://127.0.0.1:8000/web-1/', rest_username: 'web-1', rest_password: 'web-1-rest-pw-long' } })).status).toBe(201);
    const s3 = await api('POST', '/api/repositories', { name: 'offsite', url: 's3:https://s3.example.com/b/x', password: 'db-copy-repo-pw-1', credentials: { backend: 's3', access_key_id: 'AKIDCOPY', secret_access_key: S3_SECRET, region: 'eu-west-1' } });
    expect(s3.status).toBe(201);
    const rest = await api('POST', '/api/repositories', { name: 'ao', url: 'rest:http://127.0.0.1:8000/ao/', password: 'db-copy-repo-pw-2', append_only: true, credentials: { backend: 'rest', username: 'ao', password: 'ao-rest-pw-long' } });
    expect((await api('PUT', `/api/repositories/${rest.body.repository.id}/maintenance-credential`, { rest_username: 'ao-maint', rest_password: MAINT_PW })).status).toBe(200);
    expect((await api('POST', '/api/users', { username: 'viewer1', password: 'viewer-password-long-1', role: 'viewer' })).status).toBe(201);
    for (const p of READS) before[p] = (await api('GET', p)).body;
    before.audit = (await api('GET', '/api/audit?limit=500')).body;
    before.maint = (await api('GET', `/api/repositories/${rest.body.repository.id}/maintenance-credential`)).body;
    before.repoId = rest.body.repository.id;

    const busy = dbCopy(['copy', '--from', path.join(dataDir, 'restic-manager.db'), '--to', target], env);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(/in use by another restic-manager server \(PID \d+/);
    expect(await a.stop()).toBe(0);

    const inArgv = dbCopy(['copy', '--from', path.join(dataDir, 'restic-manager.db'), '--to', `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/rm_copy_target`]);
    expect(inArgv.status).toBe(2);
    expect(inArgv.stderr).toContain('--to: put no password in the URL');
    expect(inArgv.stderr).not.toContain(pg.password);

    const ok = dbCopy(['copy', '--from', path.join(dataDir, 'restic-manager.db'), '--to', target, '--json'], env);
    expect(ok.status, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as { tables: { table: string; rows: number; checksum: string }[]; rows: number };
    expect(report.tables.find((t) => t.table === 'hosts')?.rows).toBe(1);
    expect(report.tables.find((t) => t.table === 'repos')?.rows).toBe((before['/api/repositories?limit=100'] as { total: number }).total);
    expect(report.tables.find((t) => t.table === 'users')?.rows).toBe(2);
    expect(report.tables.every((t) => /^[0-9a-f]{64}$/.test(t.checksum))).toBe(true);
    expect(report.rows).toBe(report.tables.reduce((n, t) => n + t.rows, 0));
    // The source is untouched and no lock is left behind.
    expect(existsSync(path.join(dataDir, 'server.lock'))).toBe(false);

    const again = dbCopy(['copy', '--from', path.join(dataDir, 'restic-manager.db'), '--to', target], env);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/the target database is not empty/);
  }, 180_000);

  it('the server on the copy answers the same, opens the sealed secrets and keeps writing', async () => {
    const b = await startServer(dataDir, { RM_DATABASE_URL: `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/rm_copy_target` });
    try {
      const api = await session(await b.url);
      // The same answers; only the admin's last sign-in moved (this server's own sign-in).
      const signIn = (v: unknown) => JSON.parse(JSON.stringify(v), (k, x: unknown) => (k === 'last_login_at' ? '(sign-in)' : x)) as unknown;
      for (const p of READS) expect(signIn((await api('GET', p)).body), p).toEqual(signIn(before[p]));
      expect((await api('GET', `/api/repositories/${String(before.repoId)}/maintenance-credential`)).body).toEqual(before.maint);
      const audit = (await api('GET', '/api/audit?limit=500')).body as { items: { id: number }[] };
      const old = before.audit as { items: { id: number }[] };
      // The copied entries are all there, unchanged, under the ones this server added since (its sign-in).
      expect(audit.items.slice(-old.items.length)).toEqual(old.items);
      const maxOld = Math.max(...old.items.map((i) => i.id));
      const created = await api('POST', '/api/repositories', { name: 'after-copy', url: '/srv/restic/after-copy' });
      expect(created.status, created.text).toBe(201);
      const newest = ((await api('GET', '/api/audit?limit=1')).body as { items: { id: number; action: string }[] }).items[0]!;
      expect(newest).toMatchObject({ action: 'repository.create' });
      expect(newest.id).toBeGreaterThan(maxOld);
      const page = await api('GET', '/repositories');
      expect(page.status).toBe(200);
      expect(page.text).toContain('offsite');
      expect(page.text).not.toContain(S3_SECRET);
    } finally {
      expect(await b.stop()).toBe(0);
    }
  }, 120_000);
});
