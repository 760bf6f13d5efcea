import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Role } from '@restic-manager/protocol';
import type { Actor } from '../services/context.js';
import { sessionActor } from '../services/auth.service.js';
import type { SessionInfo } from '../services/auth.service.js';
import { DomainError } from '../services/errors.js';
import type { DomainErrorCode } from '../services/errors.js';
import type { AppEnv } from './auth.middleware.js';
import { requireRole } from './auth.middleware.js';
import { validationError } from './errors.js';
import type { HostScope } from '../services/host-scope.js';
import { tokenGuard } from './token-guard.js';
import { errorResponse } from './errors.js';

/** A session that must set up its second factor first reaches only the routes marked `duringTotpSetup`. */
const totpSetupGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get('session')?.totpSetupRequired) return errorResponse(c, 'totp_required', 'your role must sign in with a second factor: set it up first (Settings → Security, or POST /api/auth/totp/setup)', 403);
  await next();
};

/** Who may call a route: a minimum role, or `public` (no session; its own auth, if any). */
export type Access = Role | 'public';

export interface RouteInput<B, Q> {
  c: Context<AppEnv>;
  body: B;
  query: Q;
  params: Record<string, string>;
  /** Set for role-protected routes. */
  session: SessionInfo;
  actor: Actor;
  ip: string;
}

/**
 * One REST route: access level, zod schemas for body / query / response, and a handler that
 * returns the JSON body (or a Response). The same spec drives Hono mounting, validation,
 * /api/openapi.json and the role-matrix test — the route table is the single source.
 */
export interface RouteSpec<B = unknown, Q = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  access: Access;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  /** The JSON body of a success; without it the route answers 204 (or its own Response). */
  response?: z.ZodType;
  status?: ContentfulStatusCode;
  /** Domain errors the route may answer with a non-4xx status (e.g. agent_unavailable = 503). */
  errors?: DomainErrorCode[];
  /** Answers other than the JSON success and the errors (redirects, HTML pages), for the OpenAPI document. */
  otherResponses?: Record<number, { description: string; contentType?: string }>;
  /**
   * This route creates a resource: the id at JSON pointer `pointer` in its response fills `:id`
   * of every route whose path starts with `path` (OpenAPI links, followed by the API fuzzer).
   */
  creates?: { path: string; pointer: string };
  /**
   * A sub-resource that exists only once it is set (e.g. a host's vault target): answers 404
   * until then, so no creating route links to it.
   */
  existsOnceSet?: boolean;
  /**
   * false: only a signed-in session may call the route, never an API token (sign-out, token
   * and account management, second-factor enrolment). Default: tokens may, within their role
   * and scope (http/token-guard.ts).
   */
  bearer?: false;
  /**
   * Open to a session whose role requires a second factor not set up yet (sign-out, who am I,
   * the TOTP set-up routes). Every other route answers 403 `totp_required` to such a session.
   */
  duringTotpSetup?: true;
  handler(input: RouteInput<B, Q>): Promise<unknown>;
}

export const route = <B = undefined, Q = undefined>(spec: RouteSpec<B, Q>): RouteSpec => spec as unknown as RouteSpec;

/**
 * Mounts routes on the app with role checks (and, with `scopes`, the API-token and scope guard:
 * a token's role and session-only routes, every scoped caller's host-tag scope) and validation. Handlers may throw DomainError.
 */
export function mountRoutes(app: Hono<AppEnv>, routes: RouteSpec[], scopes?: HostScope): void {
  for (const r of routes) {
    const guard = [...(scopes ? [tokenGuard(r, scopes)] : []), ...(r.access === 'public' ? [] : [requireRole(r.access)]), ...(r.duringTotpSetup ? [] : [totpSetupGuard])];
    const handler: MiddlewareHandler<AppEnv> = async (c) => {
      const body = r.body ? await readBody(c, r.body) : undefined;
      const query = r.query ? parseWith('query', r.query, c.req.query()) : undefined;
      const session = c.get('session');
      const out = await r.handler({
        c, body, query, params: c.req.param() as Record<string, string>,
        session: session as SessionInfo,
        actor: session ? sessionActor(session) : { kind: 'system' },
        ip: c.get('clientIp'),
      });
      if (out instanceof Response) return out;
      if (out === undefined) return c.body(null, 204);
      return c.json(out as object, r.status ?? 200);
    };
    app.on(r.method.toUpperCase(), r.path, ...([...guard, handler] as [MiddlewareHandler<AppEnv>]));
  }
}

async function readBody(c: Context, schema: z.ZodType): Promise<unknown> {
  const ct = c.req.header('content-type') ?? '';
  let data: unknown = {};
  const text = await c.req.text();
  if (text.length > 0) {
    if (!ct.startsWith('application/json')) throw new DomainError('validation_failed', 'send the body as application/json');
    try {
      data = JSON.parse(text);
    } catch {
      throw new DomainError('validation_failed', 'body is not valid JSON');
    }
  }
  return parseWith('body', schema, data);
}

function parseWith(where: string, schema: z.ZodType, data: unknown): unknown {
  const r = schema.safeParse(data);
  if (!r.success) throw validationError(where, r.error);
  return r.data;
}

/**
 * The methods the route table serves at a concrete path (empty when no route matches it), for
 * answering a request with another method 405 with these in `Allow` rather than 404.
 */
export function methodIndex(routes: RouteSpec[]): (path: string) => string[] {
  const escape = (seg: string) => seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const compiled = routes.map((r) => ({ method: r.method.toUpperCase(), re: new RegExp(`^${r.path.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : escape(seg))).join('/')}$`) }));
  return (path) => {
    const out = new Set(compiled.filter((r) => r.re.test(path)).map((r) => r.method));
    if (out.has('GET')) out.add('HEAD');
    return [...out];
  };
}
