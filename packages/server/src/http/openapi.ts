import { z } from 'zod';
import { CSRF_HEADER, SESSION_COOKIE } from './auth.middleware.js';
import { STATUS } from './errors.js';
import type { RouteSpec } from './route.js';
import { scopeTargetOf } from './token-guard.js';

const ERROR_SCHEMA = {
  type: 'object', required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, fields: { type: 'object', additionalProperties: { type: 'string' } } } } },
};
const errorRef = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const oaPath = (p: string) => p.replace(/:([A-Za-z_]+)/g, '{$1}');
const jsonSchema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' });

/** The answers a route documents: its success (JSON at `status` ?? 200, else 204), other answers, 4XX, and its non-4xx domain errors. */
function responses(r: RouteSpec, routes: RouteSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const success = String(r.response ? (r.status ?? 200) : 204);
  out[success] = r.response
    ? { description: 'ok', content: { 'application/json': { schema: jsonSchema(r.response, 'output') } }, ...linksOf(r, routes) }
    : { description: 'done, no body' };
  if (r.otherResponses) {
    if (!r.response) delete out[success];
    for (const [status, o] of Object.entries(r.otherResponses)) {
      out[status] = { description: o.description, ...(o.contentType ? { content: { [o.contentType]: { schema: { type: 'string' } } } } : {}) };
    }
  }
  out['4XX'] = errorRef('error (code and message; fields for validation_failed)');
  for (const code of r.errors ?? []) out[String(STATUS[code])] = errorRef(code);
  return out;
}

/** OpenAPI links from a creating route to every route under its `creates.path` (the id as `:id`). */
function linksOf(r: RouteSpec, routes: RouteSpec[]): { links?: Record<string, unknown> } {
  if (!r.creates) return {};
  const { path, pointer } = r.creates;
  const links: Record<string, unknown> = {};
  for (const t of routes) {
    if (t.existsOnceSet || (t.path !== path && !t.path.startsWith(`${path}/`))) continue;
    const name = `${t.method}${oaPath(t.path).replace(/[^A-Za-z0-9]+/g, '_')}`;
    links[name] = {
      operationRef: `#/paths/${oaPath(t.path).replaceAll('~', '~0').replaceAll('/', '~1')}/${t.method}`,
      parameters: { 'path.id': `$response.body#${pointer}` },
    };
  }
  return { links };
}

/** OpenAPI 3.1 document generated from the route table's zod schemas. */
export function openApiDocument(routes: RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = jsonSchema(r.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) params.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema } as never);
    }
    (paths[oaPath(r.path)] ??= {})[r.method] = {
      summary: r.summary,
      'x-required-role': r.access,
      // What a caller limited to host tags (a scoped user or token) reaches here; null = refused (403).
      ...(r.access === 'public' ? {} : { 'x-host-scope': scopeTargetOf(r) }),
      ...(r.access === 'public' ? { security: [] } : r.bearer === false ? { security: [{ session: [], csrf: [] }] } : {}),
      parameters: params,
      // a body whose every field is optional may be left out (the route reads an empty body as {})
      ...(r.body ? { requestBody: { required: !r.body.safeParse({}).success, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
      responses: responses(r, routes),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'restic-manager API', version,
      description: 'Roles and host-tag scopes (docs/server.md "Roles and scopes"): a user or API token limited to host tags reaches only what `x-host-scope` allows — filtered lists (host-list, job-list, alert-list, summary), one object whose host carries a scope tag (host, job, schedule, alert), its own account (self); any `*host_id` in a body must be in scope too. Everything else, and out-of-scope objects, answer 403 with nothing done and an audit entry.',
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        csrf: { type: 'apiKey', in: 'header', name: CSRF_HEADER },
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (rmt_…) from Settings → API tokens or POST /api/tokens; no CSRF token needed. Limited to its role and host-tag scope (never wider than its account\'s).' },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
    // A session cookie with its CSRF token, or an API token (routes marked session-only say so).
    security: [{ session: [], csrf: [] }, { bearer: [] }],
    paths,
  };
}
