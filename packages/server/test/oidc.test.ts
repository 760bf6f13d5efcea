import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@restic-manager/testkit';
import type { ServerConfigInput } from '@restic-manager/server';
import type { Harness } from './helpers/harness.js';
import { Api, startHarness } from './helpers/harness.js';
import { OidcClient } from '../src/services/oidc-client.js';
import { CookieClient } from './helpers/cookie-client.js';
import type { TestProvider } from './helpers/oidc-provider.js';
import { CLIENT_ID, CLIENT_SECRET, startProvider } from './helpers/oidc-provider.js';

/*
 * The whole OIDC code flow against a real OpenID Provider (oidc-provider) on loopback: a
 * browser stand-in follows the redirects, submits the provider's login and consent forms,
 * and lands back on restic-manager's callback.
 */

const ssoConfig = (issuer: string, port: number): ServerConfigInput => ({
  listen: `127.0.0.1:${port}`, baseUrl: `http://127.0.0.1:${port}`,
  oidcIssuer: issuer, oidcClientId: CLIENT_ID, oidcClientSecret: CLIENT_SECRET, oidcScopes: 'openid profile email groups',
  oidcAdminGroups: 'rm-admins', oidcOperatorGroups: 'rm-operators, ops-oncall', oidcViewerGroups: 'rm-viewers',
});

describe('OIDC sign-in against a real provider', () => {
  let op: TestProvider;
  let h: Harness;
  let opHost: string;
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    op = await startProvider(`http://127.0.0.1:${port}/auth/oidc/callback`, {
      alice: { groups: ['staff', 'rm-admins'] },
      oscar: { groups: ['ops-oncall'] },
      nobody: { groups: ['staff'] },
      admin: { groups: ['rm-viewers'] },
      carl: { groups: ['rm-admins'] },
    });
    opHost = new URL(op.issuer).host;
    h = await startHarness(ssoConfig(op.issuer, port), { mountWeb: undefined });
  });
  afterAll(async () => {
    await h.close();
    await op.close();
  });

  /** Signs in at the provider as `login`; returns the browser and where it ended. */
  const sso = async (login: string) => {
    const b = new CookieClient();
    const end = await b.run(`${h.url}/auth/oidc/login?next=%2Fhosts`, { login, formHost: opHost });
    return { b, end };
  };
  const apiOf = async (b: CookieClient): Promise<Api> => {
    const api = new Api(h.url);
    api.cookie = b.cookie(h.url, 'rm_session');
    const me = await api.req('GET', '/api/auth/me');
    expect(me.status, me.text).toBe(200);
    api.csrf = me.body.csrf_token;
    return api;
  };
  const refusedWith = (end: { url: string; status: number; body: string }, reason: string, message: RegExp) => {
    expect(end.url).toBe(`${h.url}/login?sso_error=${reason}`);
    expect(end.status).toBe(401);
    expect(end.body).toMatch(message);
    expect(end.body).not.toMatch(/at .*\.(js|ts):\d+|Error:/);
  };

  it('a next that browsers would turn into //evil (TAB, newline) or any off-site value lands on / (issue 13 #5)', async () => {
    for (const next of ['%2F%09%2Fevil.example', '%2F%0A%2Fevil.example', '%2F%5Cevil.example', 'https%3A%2F%2Fevil.example%2F']) {
      const end = await new CookieClient().run(`${h.url}/auth/oidc/login?next=${next}`, { login: 'alice', formHost: opHost });
      expect(end.status, next).toBe(200);
      expect(end.body).toContain('content="0;url=/"');
      expect(end.body).not.toContain('evil.example');
    }
  });

  it('maps the admin group to an admin session and lands on the requested page', async () => {
    const { b, end } = await sso('alice');
    expect(end.url).toMatch(/\/auth\/oidc\/callback\?code=/);
    expect(end.status).toBe(200);
    expect(end.body).toContain('url=/hosts');
    expect(b.cookie(h.url, 'rm_oidc')).toBeUndefined();
    const api = await apiOf(b);
    const me = await api.req('GET', '/api/auth/me');
    expect(me.body.user).toMatchObject({ username: 'alice', role: 'admin' });
    expect((await api.req('GET', '/api/users')).status).toBe(200);
  });

  it('maps an operator group (any listed one) to an operator session', async () => {
    const api = await apiOf((await sso('oscar')).b);
    expect((await api.req('GET', '/api/auth/me')).body.user).toMatchObject({ username: 'oscar', role: 'operator' });
    expect((await api.req('GET', '/api/users')).status).toBe(403);
  });

  it('refuses a user in none of the groups with a clear message and provisions nobody', async () => {
    const { b, end } = await sso('nobody');
    refusedWith(end, 'no_role', /not in a group that has access to restic-manager/);
    expect(b.cookie(h.url, 'rm_session')).toBeUndefined();
    const users = await h.admin.req('GET', '/api/users');
    expect(users.body.items.map((u: { username: string }) => u.username)).not.toContain('nobody');
  });

  it('links by (issuer, subject): a provider account named like a local user gets its own account', async () => {
    const api = await apiOf((await sso('admin')).b);
    expect((await api.req('GET', '/api/auth/me')).body.user).toMatchObject({ username: 'admin-2', role: 'viewer' });
    const users = (await h.admin.req('GET', '/api/users')).body.items as { username: string; role: string; auth_method: string }[];
    expect(users.find((u) => u.username === 'admin')).toMatchObject({ role: 'admin', auth_method: 'password' });
    expect(users.find((u) => u.username === 'admin-2')).toMatchObject({ role: 'viewer', auth_method: 'oidc' });
    const ids = await h.server.db.selectFrom('user_identities').select(['issuer', 'subject']).orderBy('subject').execute();
    expect(ids).toContainEqual({ issuer: op.issuer, subject: 'admin' });
  });

  it('shows the sign-in method of each user in Settings → Users', async () => {
    const html = (await h.admin.req('GET', '/settings')).text;
    const row = (name: string) => new RegExp(`<tr id="user-[^"]+"><td><strong>${name}</strong>[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
    expect(row('alice')).toContain('<td class="auth-method">SSO</td>');
    expect(row('alice')).not.toContain('Reset password');
    expect(row('admin')).toContain('<td class="auth-method">Password</td>');
  });

  it('refuses password sign-in for an SSO-provisioned account', async () => {
    await sso('carl');
    const r = await new Api(h.url).req('POST', '/api/auth/login', { username: 'carl', password: '!oidc' });
    expect(r.status).toBe(401);
  });

  it('refuses a callback whose state was tampered with', async () => {
    const b = new CookieClient();
    const cb = await b.run(`${h.url}/auth/oidc/login`, { login: 'alice', formHost: opHost, stopAt: (u) => u.startsWith(`${h.url}/auth/oidc/callback`) });
    const tampered = new URL(cb.location ?? '');
    tampered.searchParams.set('state', 'attacker-chosen-state');
    refusedWith(await b.run(tampered.href), 'state_mismatch', /did not match this browser’s sign-in attempt/);
    expect(b.cookie(h.url, 'rm_session')).toBeUndefined();
  });

  it('refuses a replayed callback and a code injected into another attempt (nonce / PKCE bound)', async () => {
    const stopAt = (u: string) => u.startsWith(`${h.url}/auth/oidc/callback`);
    const b = new CookieClient();
    const first = await b.run(`${h.url}/auth/oidc/login`, { login: 'alice', formHost: opHost, stopAt });
    const attempt = b.cookie(h.url, 'rm_oidc');
    expect((await b.get(first.location ?? '')).status).toBe(200);
    // The same callback again, even with the attempt cookie put back: the attempt is spent.
    const replay = await fetch(first.location ?? '', { redirect: 'manual', headers: { cookie: `rm_oidc=${attempt ?? ''}` } });
    expect(replay.headers.get('location')).toBe('/login?sso_error=expired');
    // A code (and its nonce) from attempt A carried into attempt B with B's state.
    const a = new CookieClient();
    const cbA = new URL((await a.run(`${h.url}/auth/oidc/login`, { login: 'alice', formHost: opHost, stopAt })).location ?? '');
    const bb = new CookieClient();
    const cbB = new URL((await bb.run(`${h.url}/auth/oidc/login`, { login: 'alice', formHost: opHost, stopAt })).location ?? '');
    cbA.searchParams.set('state', cbB.searchParams.get('state') ?? '');
    refusedWith(await bb.run(cbA.href), 'provider_error', /returned an error/);
    expect(h.logs()).toMatch(/"event":"oidc_code_exchange_failed","reason":"ResponseBodyError OAUTH_RESPONSE_BODY_ERROR invalid_grant"/); // PKCE verifier mismatch at the provider
    expect(bb.cookie(h.url, 'rm_session')).toBeUndefined();
  });

  it('rejects an ID token whose nonce is not the attempt\'s (checked by openid-client after the code exchange)', async () => {
    const client = new OidcClient(h.server.config.oidc!, h.server.log);
    const { url, pending } = await client.begin('/', Date.now());
    const b = new CookieClient();
    const cb = await b.run(url, { login: 'alice', formHost: opHost, stopAt: (u) => u.startsWith(`${h.url}/auth/oidc/callback`) });
    const callback = new URL(cb.location ?? '');
    await expect(client.finish(callback, { ...pending, nonce: 'a-nonce-from-another-attempt' })).rejects.toMatchObject({ reason: 'provider_error' });
    expect(h.logs()).toMatch(/"event":"oidc_code_exchange_failed","reason":"ClientError OAUTH_JWT_CLAIM_COMPARISON_FAILED"/);
  });

  it('shows denied consent (the user cancels at the provider) on the login page', async () => {
    const b = new CookieClient();
    const atLogin = await b.run(`${h.url}/auth/oidc/login`, { formHost: 'none', stopAt: (u) => u.includes('/interaction/') });
    const end = await b.run(`${atLogin.location ?? ''}/abort`);
    refusedWith(end, 'denied', /cancelled or denied at the provider/);
  });

  it('re-evaluates the role at every sign-in and ends the old sessions when it changed', async () => {
    const before = await apiOf((await sso('alice')).b);
    expect((await before.req('GET', '/api/auth/me')).body.user.role).toBe('admin');
    op.accounts.set('alice', { groups: ['rm-viewers'] });
    const after = await apiOf((await sso('alice')).b);
    expect((await after.req('GET', '/api/auth/me')).body.user).toMatchObject({ username: 'alice', role: 'viewer' });
    expect((await before.req('GET', '/api/auth/me')).status).toBe(401);
    const audit = await h.admin.req('GET', '/api/audit?limit=200');
    const roleRow = audit.body.items.find((r: { action: string; payload: unknown }) => r.action === 'user.role' && JSON.stringify(r.payload).includes('oidc'));
    expect(roleRow?.payload).toMatchObject({ from: 'admin', to: 'viewer', via: 'oidc' });
    op.accounts.set('alice', { groups: ['rm-admins'] });
  });

  it('audits auth.login with method oidc and user.create for the provisioned account', async () => {
    const audit = (await h.admin.req('GET', '/api/audit?limit=200')).body.items as { action: string; payload: Record<string, unknown> }[];
    expect(audit.filter((r) => r.action === 'auth.login' && r.payload.method === 'oidc').length).toBeGreaterThanOrEqual(4);
    expect(audit.find((r) => r.action === 'auth.login' && r.payload.method === 'password')).toBeDefined();
    expect(audit.find((r) => r.action === 'user.create' && r.payload.method === 'oidc')?.payload).toMatchObject({ issuer: op.issuer });
  });

  it('never puts the client secret or a token in logs, audit rows, API responses or redirect URLs', async () => {
    const { b } = await sso('alice');
    const api = await apiOf(b);
    const bodies = [
      h.logs(),
      (await h.admin.req('GET', '/api/audit?limit=500')).text,
      (await api.req('GET', '/api/users')).text,
      (await api.req('GET', '/api/auth/methods')).text,
      (await api.req('GET', '/api/openapi.json')).text,
      b.visited.join('\n'),
    ];
    for (const text of bodies) {
      expect(text).not.toContain(CLIENT_SECRET);
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/); // a JWT (ID token)
      expect(text).not.toMatch(/id_token|access_token=/);
    }
    expect(h.logs()).toContain('OIDC sign-in enabled');
  });

  it('refuses a disabled SSO account even when the provider vouches for it', async () => {
    const users = (await h.admin.req('GET', '/api/users')).body.items as { id: string; username: string }[];
    const carl = users.find((u) => u.username === 'carl');
    await h.server.services.auth.setDisabled({ kind: 'system' }, carl?.id ?? '', true);
    refusedWith((await sso('carl')).end, 'disabled', /This account is disabled/);
  });

  it('an attempt begun before a restart completes after it: attempts are in the database, sealed, keyed by the cookie\'s hash', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-oidc-restart-'));
    try {
      await h.close();
      const cfg = { ...ssoConfig(op.issuer, port), dataDir };
      h = await startHarness(cfg, { mountWeb: undefined });
      const b = new CookieClient();
      const cb = await b.run(`${h.url}/auth/oidc/login?next=%2Fjobs`, { login: 'oscar', formHost: opHost, stopAt: (u) => u.startsWith(`${h.url}/auth/oidc/callback`) });
      const attempt = b.cookie(h.url, 'rm_oidc') ?? '';
      expect(attempt.length).toBeGreaterThan(16);
      const rows = await h.server.db.selectFrom('oidc_pending').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(attempt);
      expect(rows[0]!.sealed).not.toContain('/jobs');
      await h.close();
      h = await startHarness(cfg, { mountWeb: undefined });
      const end = await b.run(cb.location ?? '');
      expect(end.status).toBe(200);
      expect(end.body).toContain('url=/jobs');
      const me = await (await apiOf(b)).req('GET', '/api/auth/me');
      expect(me.body.user).toMatchObject({ username: 'oscar', role: 'operator' });
      expect(await h.server.db.selectFrom('oidc_pending').selectAll().execute()).toEqual([]);
    } finally {
      await h.close();
      h = await startHarness(ssoConfig(op.issuer, port), { mountWeb: undefined });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers "provider unreachable" when the provider goes down before the code exchange', async () => {
    const b = new CookieClient();
    const cb = await b.run(`${h.url}/auth/oidc/login`, { login: 'alice', formHost: opHost, stopAt: (u) => u.startsWith(`${h.url}/auth/oidc/callback`) });
    await op.close();
    refusedWith(await b.run(cb.location ?? ''), 'unavailable', /sign-in provider is unreachable/);
  });
});

describe('OIDC with the provider down at start-up and password sign-in off', () => {
  let h: Harness;
  beforeAll(async () => {
    const port = await freePort();
    const deadIssuer = `http://127.0.0.1:${await freePort()}`;
    h = await startHarness({ ...ssoConfig(deadIssuer, port), oidcAllowPasswordLogin: 'false', oidcName: 'Authelia' }, { mountWeb: undefined });
  });
  afterAll(async () => h.close());

  it('starts, logs one clear warning, and sends SSO attempts to the login page with a message', async () => {
    expect(h.logs()).toMatch(/OIDC provider http:\/\/127\.0\.0\.1:\d+ is unreachable or misconfigured/);
    const end = await new CookieClient().run(`${h.url}/auth/oidc/login`);
    expect(end.url).toBe(`${h.url}/login?sso_error=unavailable`);
    expect(end.body).toContain('The sign-in provider is unreachable');
    expect(end.body).toContain('Sign in with Authelia');
  });

  it('hides the password form and refuses password sign-in', async () => {
    const page = await new CookieClient().get(`${h.url}/login`);
    expect(page.body).toContain('Sign in with Authelia');
    expect(page.body).not.toContain('name="password"');
    const r = await new Api(h.url).req('POST', '/api/auth/login', { username: 'admin', password: 'admin-password-for-tests-1' });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/password sign-in is disabled/);
    expect((await new Api(h.url).req('GET', '/api/auth/methods')).body).toEqual({ password: false, oidc: { name: 'Authelia', login_url: '/auth/oidc/login' } });
  });
});
