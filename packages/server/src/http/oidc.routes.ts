import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { OidcError } from '../services/oidc-errors.js';
import { PENDING_TTL_MS } from '../services/oidc.service.js';
import type { AppEnv } from './auth.middleware.js';
import { setSessionCookie } from './auth.middleware.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';
import { safeNext } from './safe-next.js';

/** How this server lets people sign in (the login page and API clients read it). */
/** Cookie naming the pending OIDC attempt: Lax (it must ride the provider's redirect back), short-lived, callback path only. */
export const OIDC_COOKIE = 'rm_oidc';
const COOKIE_PATH = '/auth/oidc';

const SignInMethods = z.object({ password: z.boolean(), oidc: z.object({ name: z.string(), login_url: z.string() }).nullable() });
const LoginQuery = z.object({ next: z.string().max(2048).optional() });


/** OIDC routes. Browser redirects, not JSON: failures land on /login?sso_error=<reason>. */
export function oidcRoutes(d: RouteDeps): RouteSpec[] {
  const { oidc, passwordLogin } = d.signIn;
  return [
    route({
      method: 'get', path: '/api/auth/methods', summary: 'How to sign in: password form and/or the OIDC provider', access: 'public', response: SignInMethods,
      handler: () => Promise.resolve({ password: passwordLogin, oidc: oidc ? { name: oidc.name, login_url: '/auth/oidc/login' } : null }),
    }),
    route<undefined, z.infer<typeof LoginQuery>>({
      method: 'get', path: '/auth/oidc/login', summary: 'Start OIDC sign-in (authorization code + PKCE); redirects to the provider', access: 'public', query: LoginQuery,
      otherResponses: { 302: { description: 'to the provider' }, 303: { description: 'to /login?sso_error=<reason> (OIDC off or the provider unreachable)' } },
      async handler({ c, query }) {
        try {
          if (!oidc) throw new OidcError('not_configured');
          const { attempt, url } = await oidc.begin(safeNext(query.next));
          setCookie(c, OIDC_COOKIE, attempt, { httpOnly: true, sameSite: 'Lax', secure: d.cookie.secure, path: COOKIE_PATH, maxAge: PENDING_TTL_MS / 1000 });
          return c.redirect(url, 302);
        } catch (e) {
          return toLoginPage(c, e);
        }
      },
    }),
    route({
      method: 'get', path: '/auth/oidc/callback', summary: 'OIDC redirect URI: completes sign-in and sets the session cookie', access: 'public',
      otherResponses: { 200: { description: 'signed in: a page that continues to the `next` path', contentType: 'text/html' }, 303: { description: 'to /login?sso_error=<reason>' } },
      async handler({ c, ip }) {
        const attempt = getCookie(c, OIDC_COOKIE);
        deleteCookie(c, OIDC_COOKIE, { path: COOKIE_PATH, secure: d.cookie.secure, httpOnly: true, sameSite: 'Lax' });
        try {
          if (!oidc) throw new OidcError('not_configured');
          const { token, next } = await oidc.complete(attempt, new URL(c.req.url), ip, c.req.header('user-agent') ?? null);
          setSessionCookie(c, token, d.cookie);
          return continuePage(c, safeNext(next));
        } catch (e) {
          return toLoginPage(c, e);
        }
      },
    }),
  ];
}

function toLoginPage(c: Context<AppEnv>, e: unknown): Response {
  if (!(e instanceof OidcError)) throw e;
  c.header('Cache-Control', 'no-store');
  return c.redirect(`/login?sso_error=${e.reason}`, 303);
}

/**
 * The session cookie is SameSite=Strict and this response ends a cross-site redirect chain,
 * so a 302 to `next` would arrive without it. A same-origin page that navigates on is a fresh,
 * same-site navigation: the cookie rides along. The code and state leave the address bar too.
 */
function continuePage(c: Context<AppEnv>, next: string): Response {
  const href = next.replace(/[&"<>']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  c.header('Cache-Control', 'no-store');
  c.header('Referrer-Policy', 'no-referrer');
  return c.html(`<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}"><title>Signing in…</title></head><body><p>Signing in… <a href="${href}">Continue</a></p></body></html>`);
}
