import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import WebSocket from 'ws';
import { RECOVERY_CODE_PATTERN } from '@restic-manager/protocol';
import type { Harness } from './helpers/harness.js';
import { ADMIN_PASSWORD, Api, leaksOf, startHarness } from './helpers/harness.js';
import { base32, totpAt } from './helpers/rfc6238.js';

/*
 * Issue 21: TOTP second factor. Codes are computed here with node:crypto from RFC 6238 itself
 * (checked first against the RFC's Appendix B vectors), never with the server's library, and the
 * server's clock is the test's, so every step boundary is known.
 */

describe('RFC 6238 Appendix B test vectors', () => {
  const seeds = {
    sha1: Buffer.from('12345678901234567890'),
    sha256: Buffer.from('12345678901234567890123456789012'),
    sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
  };
  const vectors: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];

  it('the test\'s own RFC 6238 implementation gives every vector', () => {
    for (const [t, sha1, sha256, sha512] of vectors) {
      expect([totpAt(seeds.sha1, t * 1000, 8, 'sha1'), totpAt(seeds.sha256, t * 1000, 8, 'sha256'), totpAt(seeds.sha512, t * 1000, 8, 'sha512')], `T=${t}`).toEqual([sha1, sha256, sha512]);
    }
  });

  it('the server\'s library (otpauth) agrees on every vector', () => {
    for (const [t, sha1, sha256, sha512] of vectors) {
      const got = (['SHA1', 'SHA256', 'SHA512'] as const).map((algorithm, i) =>
        new TOTP({ algorithm, digits: 8, period: 30, secret: Secret.fromHex(Object.values(seeds)[i]!.toString('hex')) }).generate({ timestamp: t * 1000 }));
      expect(got, `T=${t}`).toEqual([sha1, sha256, sha512]);
    }
  });
});

describe('TOTP second factor', () => {
  let h: Harness;
  /** The server's clock: 5 s into a 30-second step, moved only by the tests. */
  let now = Date.parse('2026-12-02T12:00:05Z');
  const STEP = 30_000;
  let operator: Api;
  let key: Buffer;
  let secret: string;
  const answers: string[] = [];
  const audit = async (action: string) => ((await h.admin.req('GET', `/api/audit?action=${action}&limit=100`)).body.items as { payload: Record<string, unknown> }[]);
  const password = async (api: Api, user: string, pw: string) => {
    const r = await api.req('POST', '/api/auth/login', { username: user, password: pw });
    expect(r.status, r.text).toBe(200);
    return r;
  };
  const second = async (api: Api, body: Record<string, unknown>) => {
    const r = await api.req('POST', '/api/auth/login/totp', body);
    if (r.status === 200) {
      api.cookie = /rm_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
      api.csrf = r.body.csrf_token;
    }
    return r;
  };

  beforeAll(async () => {
    h = await startHarness({}, { now: () => now });
    expect((await h.admin.req('POST', '/api/users', { username: 'otto', password: 'otto-password-123', role: 'operator' })).status).toBe(201);
    operator = new Api(h.url);
    expect((await operator.login('otto', 'otto-password-123')).status).toBe(200);
  });
  afterAll(async () => h.close());

  it('enrols: a pending secret, a wrong code refused, the right one turns it on with 10 single-use recovery codes', async () => {
    expect((await operator.req('GET', '/api/auth/totp')).body).toEqual({ available: true, enabled: false, required: false, recovery_codes_left: 0 });
    const setup = await operator.req('POST', '/api/auth/totp/setup');
    expect(setup.status, setup.text).toBe(200);
    secret = setup.body.secret;
    key = base32(secret);
    expect(key.length).toBe(20);
    expect(setup.body.otpauth_uri).toMatch(new RegExp(`^otpauth://totp/restic-manager:otto\\?.*secret=${secret}`));
    const wrong = await operator.req('POST', '/api/auth/totp/enable', { code: totpAt(key, now - 3 * STEP) });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.fields.code).toBe('wrong or expired code');
    const on = await operator.req('POST', '/api/auth/totp/enable', { code: totpAt(key, now) });
    expect(on.status, on.text).toBe(200);
    expect(on.body.recovery_codes).toHaveLength(10);
    for (const c of on.body.recovery_codes as string[]) expect(c).toMatch(RECOVERY_CODE_PATTERN);
    (globalThis as { recovery?: string[] }).recovery = on.body.recovery_codes;
    expect((await operator.req('GET', '/api/auth/totp')).body).toMatchObject({ enabled: true, recovery_codes_left: 10 });
    expect((await audit('totp.enable')).length).toBe(1);
  });

  it('asks for the code after the password; refuses a code reused within its window; accepts the next step\'s', async () => {
    const api = new Api(h.url);
    const first = await password(api, 'otto', 'otto-password-123');
    answers.push(first.text);
    expect(first.body.second_factor).toBe('totp');
    expect(first.headers.get('set-cookie')).toBeNull();
    // The code the enrolment used (same step): refused, nothing opened.
    const reused = await second(api, { challenge: first.body.challenge, code: totpAt(key, now) });
    expect([reused.status, reused.body.error.code]).toEqual([401, 'invalid_credentials']);
    expect(reused.body.error.message).toMatch(/already used/);
    now += STEP;
    const ok = await second(api, { challenge: first.body.challenge, code: totpAt(key, now) });
    answers.push(ok.text);
    expect(ok.status, ok.text).toBe(200);
    expect((await api.req('GET', '/api/auth/me')).body.user.username).toBe('otto');
    // The same code again, on a fresh challenge and still within its window: refused.
    const again = await password(new Api(h.url), 'otto', 'otto-password-123');
    const replay = await second(new Api(h.url), { challenge: again.body.challenge, code: totpAt(key, now) });
    expect(replay.status).toBe(401);
    // A code one step ahead (clock drift) is accepted once.
    const drift = await second(new Api(h.url), { challenge: again.body.challenge, code: totpAt(key, now + STEP) });
    expect(drift.status, drift.text).toBe(200);
    expect((await audit('auth.second_factor_failed')).length).toBe(2);
  });

  it('a challenge dies after 5 wrong codes or 5 minutes', async () => {
    now += 2 * STEP;
    const c = await password(new Api(h.url), 'otto', 'otto-password-123');
    for (let i = 0; i < 5; i++) expect((await second(new Api(h.url), { challenge: c.body.challenge, code: '000000' })).status).toBe(401);
    const dead = await second(new Api(h.url), { challenge: c.body.challenge, code: totpAt(key, now) });
    expect([dead.status, dead.body.error.code]).toEqual([401, 'token_invalid']);
    now += STEP;
    const late = await password(new Api(h.url), 'otto', 'otto-password-123');
    now += 5 * 60_000 + 1000;
    const expired = await second(new Api(h.url), { challenge: late.body.challenge, code: totpAt(key, now) });
    expect([expired.status, expired.body.error.code]).toEqual([401, 'token_invalid']);
    expect(expired.body.error.message).toMatch(/enter your password again/);
  });

  it('a recovery code signs in once', async () => {
    const codes = (globalThis as { recovery?: string[] }).recovery ?? [];
    const c1 = await password(new Api(h.url), 'otto', 'otto-password-123');
    const r1 = await second(new Api(h.url), { challenge: c1.body.challenge, recovery_code: codes[0]!.toUpperCase() });
    expect(r1.status, r1.text).toBe(200);
    const c2 = await password(new Api(h.url), 'otto', 'otto-password-123');
    const r2 = await second(new Api(h.url), { challenge: c2.body.challenge, recovery_code: codes[0] });
    expect(r2.status).toBe(401);
    expect(r2.body.error.message).toMatch(/recovery code is wrong or was already used/);
    expect((await audit('auth.recovery_code_used'))[0]?.payload.left).toBe(9);
  });

  it('keeps the secret and the recovery codes out of every later answer, the log and the database', async () => {
    const codes = (globalThis as { recovery?: string[] }).recovery ?? [];
    expect(await leaksOf(h, secret, answers)).toEqual([]);
    for (const c of codes) expect(await leaksOf(h, c, answers)).toEqual([]);
  });

  it('enforces it per role: a viewer without one can only set it up; cannot turn it off; an admin resets a lost device', async () => {
    const set = await h.admin.req('PUT', '/api/auth-settings', { totp_required_roles: ['viewer'] });
    expect(set.status, set.text).toBe(200);
    expect((await h.admin.req('POST', '/api/users', { username: 'vera', password: 'vera-password-123', role: 'viewer' })).status).toBe(201);
    const vera = new Api(h.url);
    expect((await vera.login('vera', 'vera-password-123')).status).toBe(200);
    const blocked = await vera.req('GET', '/api/hosts');
    expect([blocked.status, blocked.body.error.code]).toEqual([403, 'totp_required']);
    // Nor the live job stream (a WebSocket, outside the route table).
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}/api/jobs/any-job/stream`, { headers: { cookie: `rm_session=${vera.cookie ?? ''}` } });
    expect(await new Promise<number>((resolve) => ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)))).toBe(403);
    expect((await vera.req('GET', '/api/auth/me')).body.totp_setup_required).toBe(true);
    const s = await vera.req('POST', '/api/auth/totp/setup');
    const vkey = base32(s.body.secret);
    expect((await vera.req('POST', '/api/auth/totp/enable', { code: totpAt(vkey, now) })).status).toBe(200);
    expect((await vera.req('GET', '/api/hosts')).status).toBe(200);
    now += STEP;
    const off = await vera.req('POST', '/api/auth/totp/disable', { code: totpAt(vkey, now) });
    expect(off.status).toBe(403);
    expect(off.body.error.message).toMatch(/viewer role must sign in with a second factor/);

    const users = (await h.admin.req('GET', '/api/users')).body.items as { id: string; username: string }[];
    const veraId = users.find((u) => u.username === 'vera')!.id;
    expect((await h.admin.req('POST', `/api/users/${veraId}/totp/reset`)).status).toBe(204);
    expect((await vera.req('GET', '/api/auth/me')).status).toBe(401); // sessions ended
    const back = await vera.login('vera', 'vera-password-123');
    expect(back.status).toBe(200); // no second factor now: a session that must set one up again
    expect((await vera.req('GET', '/api/hosts')).body.error.code).toBe('totp_required');
    expect((await audit('totp.reset')).length).toBe(1);
    expect((await h.admin.req('PUT', '/api/auth-settings', { totp_required_roles: [] })).status).toBe(200);
    expect((await vera.req('GET', '/api/hosts')).status).toBe(200);
  });

  it('turns off with a current code when not required; API tokens cannot change it', async () => {
    const { body } = await operator.req('POST', '/api/tokens', { name: 'no-2fa-changes' });
    const viaToken = await fetch(`${h.url}/api/auth/totp/setup`, { method: 'POST', headers: { authorization: `Bearer ${body.token as string}` } });
    expect(viaToken.status).toBe(403);
    now += STEP;
    expect((await operator.req('POST', '/api/auth/totp/disable', { code: totpAt(key, now) })).status).toBe(204);
    const plain = await password(new Api(h.url), 'otto', 'otto-password-123');
    expect(plain.body.csrf_token).toBeTruthy();
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await h.admin.req('GET', '/api/openapi.json')).body;
    for (const p of ['/api/auth/totp/setup', '/api/auth/totp/enable', '/api/auth/login/totp', '/api/auth-settings']) expect(doc.paths[p], p).toBeTruthy();
    expect(doc.paths['/api/auth/totp/setup'].post.security).toEqual([{ session: [], csrf: [] }]);
  });

  it('sign-in of the admin still works without a second factor', async () => {
    expect((await new Api(h.url).login('admin', ADMIN_PASSWORD)).status).toBe(200);
  });
});
