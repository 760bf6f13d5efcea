import { describe, expect, it } from 'vitest';
import { safeNext } from '../src/http/safe-next.js';
import { ADMIN_PASSWORD, useHarness } from './helpers/harness.js';

/* Issue 13 findings 5 (open redirect through `next`) and 6 (login CSRF from `Origin: null`). */
describe('safeNext: only same-origin paths survive', () => {
  it('keeps ordinary paths with their query and fragment', () => {
    expect(safeNext('/hosts/abc?tab=jobs#x')).toBe('/hosts/abc?tab=jobs#x');
    expect(safeNext('/')).toBe('/');
  });
  it('falls back to / for absolute, protocol-relative, control-character and backslash values', () => {
    for (const v of ['/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example', '//evil.example', '/\\evil.example', '/\\/evil.example', 'https://evil.example/', 'javascript:alert(1)', ' /x', '/x\u0000', '/x\u007f', '', 42, undefined, `/${'a'.repeat(3000)}`]) {
      expect(safeNext(v), JSON.stringify(v)).toBe('/');
    }
  });
});

describe('login: next and Origin', () => {
  const h = useHarness({}, { mountWeb: undefined });

  const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${h.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() });

  it('a TAB or newline in next (browsers drop them, giving //evil) sends the user to /, never off-site and never a 500', async () => {
    for (const next of ['/\t/evil.example', '/\n/evil.example', '/\r\nSet-Cookie: x=1']) {
      const r = await post({ username: 'admin', password: ADMIN_PASSWORD, next });
      expect(r.status, JSON.stringify(next)).toBe(303);
      expect(r.headers.get('location')).toBe('/');
    }
    const page = await fetch(`${h.url}/login?next=/%09/evil.example`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="next" value="/"');
    const signedIn = await fetch(`${h.url}/login?next=/%0A/evil.example`, { redirect: 'manual', headers: { cookie: `rm_session=${h.admin.cookie ?? ''}` } });
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get('location')).toBe('/');
    const ok = await post({ username: 'admin', password: ADMIN_PASSWORD, next: '/hosts?tag=prod' });
    expect(ok.headers.get('location')).toBe('/hosts?tag=prod');
  });

  it('refuses a sign-in posted from an opaque origin (Origin: null, a sandboxed iframe) on the form and the API', async () => {
    const form = await post({ username: 'admin', password: ADMIN_PASSWORD }, { origin: 'null' });
    expect(form.status).toBe(403);
    expect(form.headers.get('set-cookie')).toBeNull();
    const api = await fetch(`${h.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'null' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    expect(api.status).toBe(403);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('csrf_failed');
    const signedIn = await h.admin.req('POST', '/api/users', { username: 'null-origin', password: 'null-origin-Passphrase-42', role: 'viewer' }, { origin: 'null' });
    expect(signedIn.status).toBe(403);
    const same = await post({ username: 'admin', password: ADMIN_PASSWORD }, { origin: h.url });
    expect(same.status).toBe(303);
  });
});
