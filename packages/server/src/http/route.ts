import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { Role } from '@restic-manager/protocol';
import type { Actor } from '../services/context.js';
import { sessionActor } from '../services/auth.service.js';
import type { SessionInfo } from '../services/auth.service.js';
import { DomainError } from '../services/errors.js';
import type { AppEnv } from './auth.middleware.js';
import { requireRole } from './auth.middleware.js';
import { validationError } from './errors.js';

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
  response?: z.ZodType;
  status?: ContentfulStatusCode;
  handler(input: RouteInput<B, Q>): Promise<unknown>;
}

export const route = <B = undefined, Q = undefined>(spec: RouteSpec<B, Q>): RouteSpec => spec as unknown as RouteSpec;

/** Mounts routes on the app with role checks and validation. Handlers may throw DomainError. */
export function mountRoutes(app: Hono<AppEnv>, routes: RouteSpec[]): void {
  for (const r of routes) {
    const guard = r.access === 'public' ? [] : [requireRole(r.access)];
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

/** OpenAPI 3.1 document generated from the route table's zod schemas. */
export function openApiDocument(routes: RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const js = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' });
  const errorRef = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  for (const r of routes) {
    const oaPath = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = js(r.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) params.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema } as never);
    }
    (paths[oaPath] ??= {})[r.method] = {
      summary: r.summary,
      'x-required-role': r.access,
      ...(r.access === 'public' ? { security: [] } : {}),
      parameters: params,
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: js(r.body, 'input') } } } } : {}),
      responses: {
        [String(r.status ?? 200)]: r.response ? { description: 'ok', content: { 'application/json': { schema: js(r.response, 'output') } } } : { description: 'ok' },
        '4XX': errorRef,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'restic-manager API', version },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'rm_session' },
        csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
      },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, fields: { type: 'object', additionalProperties: { type: 'string' } } } } } },
      },
    },
    security: [{ session: [], csrf: [] }],
    paths,
  };
}
