import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '@restic-manager/server';
import { ADMIN_PASSWORD, Api, startHarness, useHarness } from './helpers/harness.js';

/* Issue 13 finding 9 (server part): __Host- session cookie, no-store answers, password strength, the /metrics proxy warning. */

const login = (url: string) => fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });

describe('session cookie with RM_COOKIE_SECURE=true (the default)', () => {
  const h = useHarness({ cookieSecure: true });

  it('is named __Host-rm_session, Secure, Path=/ and without Domain; an unprefixed rm_session cookie is ignored', async () => {
    const r = await login(h.url);
    expect(r.status).toBe(200);
    const set = r.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/^__Host-rm_session=[A-Za-z0-9_-]{43};/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; Path=\/(;|$)/);
    expect(set).not.toMatch(/Domain=/i);
    const token = /^__Host-rm_session=([^;]+)/.exec(set)?.[1] ?? '';
    expect((await fetch(`${h.url}/api/auth/me`, { headers: { cookie: `__Host-rm_session=${token}` } })).status).toBe(200);
    expect((await fetch(`${h.url}/api/auth/me`, { headers: { cookie: `rm_session=${token}` } })).status).toBe(401);
  });
});

describe('answers are not cached; passwords have a minimum strength', () => {
  const h = useHarness({}, { mountWeb: undefined });

  it('signed-in pages and API answers carry Cache-Control: no-store; static assets keep their own policy', async () => {
    expect((await h.admin.req('GET', '/api/hosts')).headers.get('cache-control')).toBe('no-store');
    expect((await h.admin.req('GET', '/api/auth/me')).headers.get('cache-control')).toBe('no-store');
    const page = await h.admin.req('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect((await h.admin.req('GET', '/settings')).headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${h.url}/static/app.css`)).headers.get('cache-control')).toBe('no-cache');
  });

  it('refuses weak passwords for new users (API and web) and admin resets, naming the password field', async () => {
    for (const password of ['a', ' '.repeat(12), 'password1234', 'qwertyuiop123', 'aaaaaaaaaaaaaaaa']) {
      const r = await h.admin.req('POST', '/api/users', { username: 'weak', password, role: 'viewer' });
      expect(r.status, JSON.stringify(password)).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(Object.keys(r.body.error.fields)).toEqual(['password']);
    }
    const form = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };
    const web = await h.admin.req('POST', '/settings/users', new URLSearchParams({ username: 'weak2', password: 'password1234', role: 'viewer' }).toString(), form);
    expect(web.status).toBe(400);
    expect(web.body.error.fields).toEqual({ password: expect.stringMatching(/too easy to guess/) });
    const ok = await h.admin.req('POST', '/api/users', { username: 'strong', password: 'violet-anchor-tundra-41', role: 'viewer' });
    expect(ok.status, ok.text).toBe(201);
    const reset = await h.admin.req('POST', `/settings/users/${ok.body.id}/password`, new URLSearchParams({ password: 'qwertyuiop123' }).toString(), form);
    expect(reset.status).toBe(400);
    expect(reset.body.error.fields).toEqual({ password: expect.any(String) });
    expect((await new Api(h.url).login('strong', 'violet-anchor-tundra-41')).status).toBe(200);
  });

  it('warns at start-up that /metrics answers any client behind a same-host proxy while RM_TRUSTED_PROXY is unset', async () => {
    expect(h.logs()).toMatch(/"event":"metrics_exposed_behind_proxy".*RM_TRUSTED_PROXY is unset/);
    const proxied = await startHarness({ trustedProxy: '127.0.0.1/32' });
    try {
      expect(proxied.logs()).toContain('restic-manager server listening');
      expect(proxied.logs()).not.toContain('metrics_exposed_behind_proxy');
    } finally {
      await proxied.close();
    }
  });
});

describe('RM_ADMIN_PASSWORD', () => {
  it('a one-letter, an all-space or a common password stops the start-up with an error naming RM_ADMIN_PASSWORD', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-weak-admin-'));
    try {
      for (const [pw, why] of [['a', /at least 12 characters/], [' '.repeat(12), /only spaces/], ['password1234', /too easy to guess/]] as const) {
        await expect(startServer({ listen: '127.0.0.1:0', dataDir, cookieSecure: false, adminPassword: pw })).rejects.toThrow(new RegExp(`^invalid configuration: RM_ADMIN_PASSWORD: .*${why.source}`));
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
