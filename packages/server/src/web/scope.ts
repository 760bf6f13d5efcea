import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/auth.middleware.js';
import { errorResponse } from '../http/errors.js';
import { HostScope } from '../services/host-scope.js';
import type { WebCtx } from './web-context.js';

/**
 * The web UI's side of scoped roles (issue 21, docs/server.md "Roles and scopes"): what a page or
 * form action under a concrete path reaches. `open` pages filter their own lists by the scope
 * (dashboard, host list, jobs, alerts) or are the user's own (settings, security, tokens);
 * `host`/`job`/`schedule`/`alert` paths name one object whose host must be in scope; everything
 * else (repositories, copies, audit, add host, fleet settings) is refused to a scoped user.
 */
export type WebScopeTarget = { kind: 'open' } | { kind: 'host' | 'job' | 'schedule' | 'alert'; id: string } | { kind: 'fleet' };

const OPEN = [/^\/$/, /^\/partials\/(fleet|hosts)$/, /^\/jobs$/, /^\/alerts$/, /^\/settings$/, /^\/settings\/(security|tokens)(\/.*)?$/, /^\/login(\/.*)?$/, /^\/logout$/, /^\/static\//, /^\/favicon/];
const BY_ID: [RegExp, 'host' | 'job' | 'schedule' | 'alert'][] = [
  [/^\/hosts\/(?!new(?:\/|$))([^/]+)(?:\/.*)?$/, 'host'],
  [/^\/partials\/(?:hosts|restore|enroll)\/([^/]+)(?:\/.*)?$/, 'host'],
  [/^\/(?:partials\/)?jobs\/([^/]+)(?:\/.*)?$/, 'job'],
  [/^\/schedules\/([^/]+)(?:\/.*)?$/, 'schedule'],
  [/^\/alerts\/([^/]+)\/ack$/, 'alert'],
];

export function webScopeTargetOf(path: string): WebScopeTarget {
  if (OPEN.some((re) => re.test(path))) return { kind: 'open' };
  for (const [re, kind] of BY_ID) {
    const m = re.exec(path);
    if (m?.[1]) return { kind, id: decodeURIComponent(m[1]) };
  }
  return { kind: 'fleet' };
}

/** The signed-in user's host-tag scope; null = every host. */
export const scopeOf = (c: Context<AppEnv>): string[] | null => c.get('session')?.scope ?? null;

/** The fields of an urlencoded form write (read from the cached body text; the route reads it again). */
async function formFieldsOf(c: Context<AppEnv>): Promise<Record<string, string[]> | undefined> {
  if (!['POST', 'PUT', 'PATCH'].includes(c.req.method)) return undefined;
  const ct = c.req.header('content-type') ?? '';
  if (!ct.startsWith('application/x-www-form-urlencoded')) return undefined;
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [k, v] of new URLSearchParams(await c.req.text())) (out[k] ??= []).push(v);
  return out;
}

/**
 * Mounted before every page and action: for a scoped user, refuses (403, audited once a minute
 * per path) a page or action outside the scope before it reads or does anything — including a
 * form that names an out-of-scope host in a `*host_id` field (a cross-host restore's target or
 * source, a drill host). Unscoped sessions and the JSON API (its own guard) pass untouched.
 */
export function webScopeGuard(w: WebCtx): MiddlewareHandler<AppEnv> {
  const scopes = w.services.scope;
  return async (c, next) => {
    const s = c.get('session');
    if (!s?.scope || c.req.path.startsWith('/api/')) return next();
    const use = { method: c.req.method, path: c.req.path, ip: c.get('clientIp') };
    const deny = async (message: string) => {
      await scopes.denied(s, use, 'scope');
      return errorResponse(c, 'forbidden', message, 403);
    };
    const outOfScope = HostScope.describe(s);
    const t = webScopeTargetOf(c.req.path);
    if (t.kind === 'fleet') return deny(`requires an account not limited to host tags (${outOfScope})`);
    if (t.kind === 'host' && !(await scopes.hostInScope(s, t.id))) return deny(`requires a host in your scope (${outOfScope}; host ${t.id} is not)`);
    if (t.kind === 'job' && !(await scopes.jobInScope(s, t.id))) return deny(`requires a host in your scope (${outOfScope}; the host of job ${t.id} is not)`);
    if (t.kind === 'schedule' && !(await scopes.scheduleInScope(s, t.id))) return deny(`requires a host in your scope (${outOfScope}; the host of schedule ${t.id} is not)`);
    if (t.kind === 'alert' && !(await scopes.alertInScope(s, t.id))) return deny(`requires a host in your scope (${outOfScope}; the host of alert ${t.id} is not)`);
    const named = await scopes.bodyHostOutOfScope(s, await formFieldsOf(c));
    if (named) return deny(`requires a host in your scope (${outOfScope}; ${named} is not)`);
    return next();
  };
}

/** Mounts the guard on every path of the web UI (call before the pages and actions are mounted). */
export function mountWebScope(app: Hono<AppEnv>, w: WebCtx): void {
  app.use('*', webScopeGuard(w));
}
