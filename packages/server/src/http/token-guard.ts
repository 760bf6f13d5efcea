import type { Context, MiddlewareHandler } from 'hono';
import { HostScope } from '../services/host-scope.js';
import type { AppEnv } from './auth.middleware.js';
import { roleAtLeast } from './auth.middleware.js';
import { errorResponse } from './errors.js';
import type { Role } from '@restic-manager/protocol';

/** What the guard needs of a route (route.ts's RouteSpec, without importing it: no cycle). */
export interface GuardedRoute {
  method: string;
  path: string;
  access: Role | 'public';
  bearer?: false;
}

/**
 * What a host-tag-scoped caller (a scoped user's session or a scoped API token) may reach on a
 * route: deny unless the route is listed here. `*-list` and `summary` routes answer only what is
 * in scope (the handler filters by `session.scope`); `host`, `job`, `schedule` and `alert`
 * routes check the one object named by `:id`.
 */
export type ScopeTarget = 'host-list' | 'job-list' | 'alert-list' | 'summary' | 'host' | 'job' | 'schedule' | 'alert' | 'self' | null;

/**
 * The route's reach for a scoped caller (docs/server.md "Roles and scopes"): the host, job and
 * alert lists and the fleet summary (filtered), the routes of one host (`/api/hosts/:id…`, the
 * host must carry a scope tag), of one job, schedule or alert (its host must) and
 * `/api/auth/me`. Every other route — repositories, copy policies, settings, audit, users — is
 * refused to a scoped caller, so a route added later is closed until it is listed here.
 */
export function scopeTargetOf(r: Pick<GuardedRoute, 'method' | 'path'>): ScopeTarget {
  const get = r.method === 'get';
  if (r.path === '/api/hosts') return get ? 'host-list' : null;
  if (r.path === '/api/jobs') return get ? 'job-list' : null;
  if (r.path === '/api/alerts') return get ? 'alert-list' : null;
  if (r.path === '/api/fleet/summary') return get ? 'summary' : null;
  if (r.path === '/api/hosts/:id' || r.path.startsWith('/api/hosts/:id/')) return 'host';
  if (r.path === '/api/jobs/:id' || r.path.startsWith('/api/jobs/:id/')) return 'job';
  if (r.path === '/api/schedules/:id' || r.path.startsWith('/api/schedules/:id/')) return 'schedule';
  if (r.path === '/api/alerts/:id/ack') return 'alert';
  // The caller's own account (who am I, own second factor) and the pure cron preview.
  if (r.path === '/api/auth/me' || r.path.startsWith('/api/auth/totp') || r.path === '/api/schedules/preview') return 'self';
  return null;
}

/** The JSON body of a write, if it is one (Hono caches it: the route reads it again); else undefined. */
async function jsonBodyOf(c: Context<AppEnv>): Promise<unknown> {
  if (!['POST', 'PUT', 'PATCH'].includes(c.req.method) || !(c.req.header('content-type') ?? '').startsWith('application/json')) return undefined;
  try {
    return JSON.parse(await c.req.text()) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Checks a request before its route reads a body or does anything: for API tokens the
 * session-only routes and the token's role; for every scoped caller (token or signed-in user)
 * the host-tag scope. A refusal answers 403 with nothing done and is audited (rate-limited,
 * services/host-scope.ts). Out-of-scope single objects answer 403 too, never 404 — and an
 * unknown id passes to the route (404), so the answer does not depend on what exists outside
 * the scope beyond "not yours".
 */
export function tokenGuard(r: GuardedRoute, scopes: HostScope): MiddlewareHandler<AppEnv> {
  const target = scopeTargetOf(r);
  return async (c, next) => {
    const s = c.get('session');
    if (!s || (!s.token && !s.scope)) return next();
    const use = { method: c.req.method, path: c.req.path, ip: c.get('clientIp') };
    const deny = async (reason: string, message: string) => {
      await scopes.denied(s, use, reason);
      return errorResponse(c, 'forbidden', message, 403);
    };
    if (s.token && r.bearer === false) return deny('session_only', `${r.method.toUpperCase()} ${r.path} needs a signed-in session; API tokens cannot use it`);
    if (s.token && r.access !== 'public' && !roleAtLeast(s.user.role, r.access)) return deny('role', `requires the ${r.access} role (this token acts as ${s.user.role})`);
    if (!s.scope) return next();
    // Below the route's role: requireRole answers 403 as for anyone else (not a scope refusal).
    if (r.access !== 'public' && !roleAtLeast(s.user.role, r.access)) return next();
    const outOfScope = HostScope.describe(s);
    if (target === null) {
      // Session-only self-service routes (sign-out, own tokens, own second factor) stay open to a scoped user.
      if (!s.token && r.bearer === false) return next();
      if (r.access === 'public') return next();
      return deny('scope', `${outOfScope}; ${r.method.toUpperCase()} ${r.path} is not available to a scoped ${s.token ? 'token' : 'account'}`);
    }
    const id = c.req.param('id') ?? '';
    if (target === 'host' && !(await scopes.hostInScope(s, id))) return deny('scope', `${outOfScope}; host ${id} is not`);
    if (target === 'job' && !(await scopes.jobInScope(s, id))) return deny('scope', `${outOfScope}; the host of job ${id} is not`);
    if (target === 'schedule' && !(await scopes.scheduleInScope(s, id))) return deny('scope', `${outOfScope}; the host of schedule ${id} is not`);
    if (target === 'alert' && !(await scopes.alertInScope(s, id))) return deny('scope', `${outOfScope}; the host of alert ${id} is not`);
    const named = await scopes.bodyHostOutOfScope(s, await jsonBodyOf(c));
    if (named) return deny('scope', `${outOfScope}; ${named} is not`);
    return next();
  };
}
