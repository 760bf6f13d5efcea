import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { Role } from '@restic-manager/protocol';
import type { AuthService, SessionInfo } from '../services/auth.service.js';
import type { ApiTokenService } from '../services/api-token.service.js';
import { safeEqual } from '../crypto/tokens.js';
import { errorResponse } from './errors.js';

/*
 * Reusable auth middleware (the JSON API and the web UI both use these):
 *   loadSession  — resolves the session cookie into c.var.session (or leaves it undefined)
 *   requireRole  — 401 without a session, 403 below the role
 *   csrf         — on POST/PUT/PATCH/DELETE with a session cookie (not an API token): the token from header
 *                  `X-CSRF-Token` (HTMX / fetch) or form field `_csrf` must match the session's;
 *                  a cross-origin `Origin` header, or `Origin: null`, is refused outright,
 *                  signed in or not (so the login form cannot be posted from another site).
 */

export const SESSION_COOKIE = 'rm_session';
/**
 * The session cookie's name when it is Secure: the `__Host-` prefix makes browsers refuse it
 * unless it is Secure, Path=/ and has no Domain, so a sibling subdomain or a plain-HTTP
 * man-in-the-middle cannot plant one. Plain-HTTP setups (RM_COOKIE_SECURE=false: the loopback
 * demo, the tests) keep `rm_session`, since a prefixed cookie needs Secure.
 */
export const SECURE_SESSION_COOKIE = '__Host-rm_session';
export const sessionCookieName = (secure: boolean): string => (secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE);
export const CSRF_HEADER = 'X-CSRF-Token';
export const CSRF_FIELD = '_csrf';

export type AppEnv = { Variables: { session: SessionInfo | undefined; clientIp: string } };

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
export const roleAtLeast = (have: Role, need: Role): boolean => RANK[have] >= RANK[need];

/**
 * Resolves the session cookie `cookieName` (see sessionCookieName) into c.var.session. With
 * `tokens`, a request to `/api/…` that carries an `Authorization` header is authenticated by it
 * alone (the cookie is then ignored): a bad, expired or revoked token answers 401 and nothing
 * else runs; a good one is audited after the route answered. Tokens are read from that header
 * only — never from a cookie or the query string — and never on web pages.
 */
export function loadSession(auth: AuthService, cookieName: string = SESSION_COOKIE, tokens?: ApiTokenService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (tokens && header !== undefined && c.req.path.startsWith('/api/')) {
      const ip = c.get('clientIp');
      const r = await tokens.authenticate(header, ip);
      if (!('user' in r)) {
        c.header('WWW-Authenticate', `Bearer error="invalid_token"`);
        return errorResponse(c, r.code, r.message, 401);
      }
      c.set('session', r);
      await next();
      await tokens.used(r, { method: c.req.method, path: c.req.path, status: c.res.status, ip });
      return;
    }
    const token = getCookie(c, cookieName);
    c.set('session', token ? ((await auth.resolve(token)) ?? undefined) : undefined);
    await next();
  };
}

export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const s = c.get('session');
    if (!s) return errorResponse(c, 'unauthorized', 'sign in first', 401);
    if (!roleAtLeast(s.user.role, role)) return errorResponse(c, 'forbidden', `requires the ${role} role`, 403);
    await next();
  };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** CSRF check for state-changing requests; `allowedOrigins` are scheme://host[:port] values. */
export function csrf(allowedOrigins: () => string[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!UNSAFE.has(c.req.method)) return next();
    const origin = c.req.header('origin');
    // `Origin: null` comes from opaque contexts (a sandboxed iframe, a data: page): such a page
    // could sign a victim into the attacker's account, so it is refused like any foreign origin.
    // Same-origin pages send their real origin (Referrer-Policy is same-origin, never no-referrer).
    if (origin && !allowedOrigins().includes(origin) && origin !== selfOrigin(c)) {
      return errorResponse(c, 'csrf_failed', origin === 'null' ? 'request from an opaque origin (Origin: null) refused' : 'cross-origin request refused', 403);
    }
    const s = c.get('session');
    // No session, or an API token: a browser never attaches an Authorization header on its own,
    // so a bearer request cannot be forged cross-site and needs no CSRF token.
    if (!s || s.token) return next();
    let sent = c.req.header(CSRF_HEADER);
    if (!sent) {
      const ct = c.req.header('content-type') ?? '';
      if (ct.startsWith('application/x-www-form-urlencoded') || ct.startsWith('multipart/form-data')) {
        const v = (await c.req.parseBody())[CSRF_FIELD];
        sent = typeof v === 'string' ? v : undefined;
      }
    }
    if (!sent || !safeEqual(sent, s.csrfToken)) return errorResponse(c, 'csrf_failed', `missing or wrong CSRF token (send the ${CSRF_HEADER} header)`, 403);
    return next();
  };
}

function selfOrigin(c: Context): string {
  const host = c.req.header('host') ?? '';
  return `${new URL(c.req.url).protocol}//${host}`;
}

export interface CookieOptions {
  secure: boolean;
  absoluteMs: number;
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Secure (and `__Host-`) unless configured off. */
export function setSessionCookie(c: Context, token: string, o: CookieOptions): void {
  setCookie(c, sessionCookieName(o.secure), token, { httpOnly: true, sameSite: 'Strict', secure: o.secure, path: '/', maxAge: Math.floor(o.absoluteMs / 1000) });
}

export function clearSessionCookie(c: Context, o: CookieOptions): void {
  deleteCookie(c, sessionCookieName(o.secure), { path: '/', secure: o.secure, httpOnly: true, sameSite: 'Strict' });
}
