import type { Context, MiddlewareHandler } from 'hono';
import type { Role } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { roleAtLeast } from '../http/auth.middleware.js';
import { errorResponse } from '../http/errors.js';
import type { Actor } from '../services/context.js';
import { sessionActor } from '../services/auth.service.js';
import type { WebContext } from '../http/app.js';
import type { Viewer } from './components/layout.js';
import type { WebReadRepository } from '../repositories/web-read.repository.js';
import { bare } from './forms.js';

/** What the web UI gets from the server (http/app.ts's WebContext). */
export type WebDeps = WebContext;

export interface WebCtx extends WebDeps {
  read: WebReadRepository;
}

export const isHx = (c: Context): boolean => c.req.header('hx-request') === 'true';

export function viewerOf(c: Context<AppEnv>): Viewer {
  const s = c.get('session');
  if (!s) throw new Error('viewerOf called without a session');
  return { username: s.user.username, role: s.user.role, csrfToken: s.csrfToken, ...(s.scope ? { scoped: true as const } : {}) };
}

export function actorOf(c: Context<AppEnv>): Actor {
  const s = c.get('session');
  return s ? sessionActor(s) : { kind: 'system' };
}

/**
 * Guard for pages and partials. Full-page GETs without a session redirect to /login?next=…;
 * HTMX and non-GET requests get the JSON 401/403 the toast handler shows.
 */
export function guard(role: Role = 'viewer', opts: { duringTotpSetup?: true } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const s = c.get('session');
    if (!s) {
      if (c.req.method === 'GET' && !isHx(c)) return c.redirect(`/login?next=${encodeURIComponent(new URL(c.req.url).pathname)}`, 302);
      return errorResponse(c, 'unauthorized', 'your session has ended: sign in again', 401);
    }
    if (s.totpSetupRequired && !opts.duringTotpSetup) {
      // The role must use a second factor and this user has none yet: only its set-up page is open.
      if (c.req.method === 'GET' && !isHx(c)) return c.redirect('/settings/security', 302);
      return errorResponse(c, 'totp_required', 'set up two-factor sign-in first (Settings → Security)', 403);
    }
    if (!roleAtLeast(s.user.role, role)) return errorResponse(c, 'forbidden', `requires the ${role} role`, 403);
    await next();
  };
}

/** After a successful action: HX-Redirect for HTMX, 303 for plain forms. */
export function redirectTo(c: Context, location: string): Response {
  if (isHx(c)) return c.body(null, 200, { 'HX-Redirect': location });
  return c.redirect(location, 303);
}

export const baseUrlOf = (d: WebDeps, c: Context): string => d.baseUrl() || new URL(c.req.url).origin;

/**
 * Reads an urlencoded/multipart form body into an object with a null prototype (`all`: repeated
 * names become arrays). The query string is never merged into a body; only DELETE, which htmx
 * sends with its parameters in the URL, reads the query instead.
 */
export async function formOf(c: Context, opts: { all?: boolean } = {}): Promise<Record<string, unknown>> {
  const out = bare();
  if (c.req.method === 'DELETE') {
    for (const [k, v] of Object.entries(opts.all ? c.req.queries() : c.req.query())) out[k] = v;
    return out;
  }
  const ct = c.req.header('content-type') ?? '';
  if (!ct.startsWith('application/x-www-form-urlencoded') && !ct.startsWith('multipart/form-data')) return out;
  const body = await c.req.parseBody({ all: opts.all ?? false, dot: false });
  for (const k of Object.keys(body)) out[k] = body[k];
  return out;
}
