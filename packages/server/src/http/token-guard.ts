import type { MiddlewareHandler } from 'hono';
import type { ApiTokenService } from '../services/api-token.service.js';
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

/** What a host-tag-scoped token may reach on a route: deny unless the route is listed here. */
export type ScopeTarget = 'host-list' | 'host' | 'job' | 'self' | null;

/**
 * The route's reach for a scoped token (docs/server.md "Scope"): the host list (filtered), the
 * routes of one host (`/api/hosts/:id…`, the host must carry a scope tag), of one job (its host
 * must) and `/api/auth/me`. Every other route — fleet-wide lists, repositories, settings — is
 * refused to a scoped token, so a route added later is closed until it is listed here.
 */
export function scopeTargetOf(r: Pick<GuardedRoute, 'method' | 'path'>): ScopeTarget {
  if (r.path === '/api/hosts') return r.method === 'get' ? 'host-list' : null;
  if (r.path === '/api/hosts/:id' || r.path.startsWith('/api/hosts/:id/')) return 'host';
  if (r.path === '/api/jobs/:id' || r.path.startsWith('/api/jobs/:id/')) return 'job';
  if (r.path === '/api/auth/me') return 'self';
  return null;
}

/**
 * Checks a request made with an API token (sessions pass untouched): session-only routes, the
 * role, and the host-tag scope. A refusal answers 403 before the route reads its body or does
 * anything, and is audited (`token.denied`).
 */
export function tokenGuard(r: GuardedRoute, tokens: ApiTokenService): MiddlewareHandler<AppEnv> {
  const target = scopeTargetOf(r);
  return async (c, next) => {
    const s = c.get('session');
    if (!s?.token) return next();
    const use = { method: c.req.method, path: c.req.path, ip: c.get('clientIp') };
    const deny = async (reason: string, message: string) => {
      await tokens.denied(s, use, reason);
      return errorResponse(c, 'forbidden', message, 403);
    };
    if (r.bearer === false) return deny('session_only', `${r.method.toUpperCase()} ${r.path} needs a signed-in session; API tokens cannot use it`);
    if (r.access !== 'public' && !roleAtLeast(s.user.role, r.access)) return deny('role', `requires the ${r.access} role (this token acts as ${s.user.role})`);
    const scope = s.token.scope;
    if (!scope) return next();
    const outOfScope = `this token is limited to hosts tagged ${scope.join(', ')}`;
    if (target === null) return deny('scope', `${outOfScope}; ${r.method.toUpperCase()} ${r.path} is not available to a scoped token`);
    const id = c.req.param('id') ?? '';
    if (target === 'host' && !(await tokens.hostInScope(s, id))) return deny('scope', `${outOfScope}; host ${id} is not`);
    if (target === 'job' && !(await tokens.jobInScope(s, id))) return deny('scope', `${outOfScope}; the host of job ${id} is not`);
    return next();
  };
}
