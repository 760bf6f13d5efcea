import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Logger } from 'pino';
import type { Services } from '../services/services.js';
import type { Db } from '../store/db.js';
import type { AppEnv, CookieOptions } from './auth.middleware.js';
import { csrf, loadSession, sessionCookieName } from './auth.middleware.js';
import { adminRoutes } from './admin.routes.js';
import { authRoutes } from './auth.routes.js';
import { errorResponse, handleError } from './errors.js';
import { hostRoutes } from './host.routes.js';
import { vaultRoutes } from './vault.routes.js';
import { quarantineRoutes } from './quarantine.routes.js';
import { repositoryRoutes } from './repositories.routes.js';
import { controlPlaneBackupRoutes } from './control-plane-backup.routes.js';
import { copyPolicyRoutes } from './copy-policies.routes.js';
import { restoreDrillRoutes } from './restore-drill.routes.js';
import { jobRoutes } from './job.routes.js';
import { inspectRoutes } from './inspect.routes.js';
import { downloadRoutes } from './download.routes.js';
import { maintenanceRoutes } from './maintenance.routes.js';
import type { CidrList } from './net.js';
import { clientIp } from './net.js';
import { notificationRoutes } from './notification.routes.js';
import { oidcRoutes } from './oidc.routes.js';
import type { SignInOptions } from './deps.js';
import { methodIndex, mountRoutes } from './route.js';
import { openApiDocument } from './openapi.js';
import type { RouteSpec } from './route.js';
import { scheduleRoutes } from './schedule.routes.js';
import { trendRoutes } from './trend.routes.js';
import { capsRoutes } from './caps.routes.js';
import { mountReplicaRoutes } from './replica.routes.js';
import { tokenRoutes } from './token.routes.js';
import { totpRoutes } from './totp.routes.js';

/**
 * Everything a web UI module gets when it is mounted. The session, role and CSRF middleware in
 * ./auth.middleware.ts are already applied app-wide by the time `mountWeb` runs:
 * `c.get('session')` is set for signed-in requests and unsafe methods have passed the CSRF
 * check (header `X-CSRF-Token` for HTMX/fetch, form field `_csrf` for plain forms).
 * Use `requireRole(role)` per page, `setSessionCookie` after `services.auth.login`.
 */
export interface WebContext {
  services: Services;
  /** Read-only queries for pages that need joins the services do not offer. */
  db: Db;
  cookie: CookieOptions;
  log: Logger;
  baseUrl: () => string;
  version: string;
  /** Password form on/off and the OIDC provider, if configured. */
  signIn: SignInOptions;
}

/** Signature of the web UI mount hook (packages/server/src/web/ exports one). */
export type MountWeb = (app: Hono<AppEnv>, ctx: WebContext) => void;

export interface AppOptions extends WebContext {
  trustedProxies: CidrList;
  /** Directory with install.sh; null = not served (404 with a clear message). */
  installDir: string | null;
  /** The agent tarball served at /install/agent.tgz when installDir has none. */
  agentTarball: string | null;
  /** Optional Prometheus handler for GET /metrics (it does its own access check). */
  metrics?: (req: Request, ip: string) => Promise<Response>;
  mountWeb?: MountWeb | undefined;
  /** For `GET /readyz`: null when this process can serve, else the reason (503). */
  ready?: () => Promise<string | null>;
}

export const MAX_BODY_BYTES = 1024 * 1024;
/** Requests slower than this are logged at warn (route pattern only, never ids or bodies). */
export const SLOW_REQUEST_MS = 1000;

/** Builds the Hono app: middleware, REST routes, OpenAPI, install script, metrics, web UI. */
export function createApp(o: AppOptions): { app: Hono<AppEnv>; routes: RouteSpec[] } {
  const app = new Hono<AppEnv>();
  const deps = { services: o.services, cookie: o.cookie, version: o.version, signIn: o.signIn };
  const routes = [...authRoutes(deps), ...oidcRoutes(deps), ...hostRoutes(deps), ...vaultRoutes(deps), ...quarantineRoutes(deps), ...repositoryRoutes(deps), ...copyPolicyRoutes(deps), ...restoreDrillRoutes(deps), ...jobRoutes(deps), ...inspectRoutes(deps), ...downloadRoutes(deps), ...scheduleRoutes(deps), ...maintenanceRoutes(deps), ...adminRoutes(deps), ...notificationRoutes(deps), ...trendRoutes(deps), ...tokenRoutes(deps), ...totpRoutes(deps), ...controlPlaneBackupRoutes(deps), ...capsRoutes(deps)];
  const origins = () => [new URL(o.baseUrl()).origin];

  app.onError((err, c) => handleError(err, c, (e) => o.log.error({ err: e instanceof Error ? e.message : String(e), path: c.req.path }, 'request failed')));
  const methodsAt = methodIndex(routes);
  app.notFound((c) => {
    const allowed = methodsAt(c.req.path);
    if (allowed.length === 0 || allowed.includes(c.req.method)) return errorResponse(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`, 404);
    c.header('Allow', allowed.join(', '));
    return errorResponse(c, 'method_not_allowed', `${c.req.method} is not allowed on ${c.req.path} (allowed: ${allowed.join(', ')})`, 405);
  });
  app.use('*', async (c, next) => {
    let peer: string;
    try {
      peer = getConnInfo(c).remote.address ?? '';
    } catch {
      peer = '';
    }
    c.set('clientIp', clientIp(peer, c.req.header('x-forwarded-for'), o.trustedProxies));
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    if (ms > SLOW_REQUEST_MS) o.log.warn({ method: c.req.method, path: c.req.routePath, status: c.res.status, ms: Math.round(ms) }, 'slow request');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
    // Signed-in pages and API answers hold fleet data and CSRF tokens: never kept by a browser
    // or proxy cache. Only responses that chose their own policy (static assets) keep it.
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });
  app.use('*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => errorResponse(c, 'too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`, 413) }));
  app.use('*', loadSession(o.services.auth, sessionCookieName(o.cookie.secure), o.services.tokens));
  app.use('*', csrf(origins));

  app.get('/healthz', (c) => c.json({ ok: true, version: o.version }));
  // For load balancers: 503 while the database is unreachable, migrations are pending, or the process drains.
  app.get('/readyz', async (c) => {
    const reason = o.ready ? await o.ready() : null;
    return reason ? c.json({ ok: false, reason }, 503) : c.json({ ok: true });
  });
  const doc = openApiDocument(routes, o.version);
  app.get('/api/openapi.json', (c) => c.json(doc));
  app.get('/install/install.sh', (c) => {
    const file = o.installDir ? path.join(o.installDir, 'install.sh') : null;
    if (!file || !existsSync(file)) {
      return c.text('install.sh is not available on this server (deploy/install/install.sh missing from the installation)\n', 404);
    }
    const script = readFileSync(file, 'utf8').replaceAll('__RM_BASE_URL__', o.baseUrl());
    return c.body(script, 200, { 'Content-Type': 'text/x-shellscript; charset=utf-8', 'Cache-Control': 'no-store' });
  });
  app.get('/install/agent.tgz', (c) => {
    const file = [o.installDir && path.join(o.installDir, 'agent.tgz'), o.agentTarball].find((f): f is string => !!f && existsSync(f));
    if (!file) return c.text('agent.tgz is not available on this server (build it with packages/agent/scripts/pack.mjs or set RM_AGENT_TARBALL)\n', 404);
    return c.body(readFileSync(file), 200, { 'Content-Type': 'application/gzip', 'Cache-Control': 'no-store' });
  });
  if (o.metrics) {
    const m = o.metrics;
    app.get('/metrics', (c) => m(c.req.raw, c.get('clientIp')));
  }
  mountRoutes(app, routes, o.services.scope);
  mountReplicaRoutes(app, o.services);
  o.mountWeb?.(app, o);
  return { app, routes };
}

/** The server package's own directory (dist/http/ and src/http/ both sit two levels below it). */
const packageDir = (): string => fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where install.sh (and agent.tgz) come from: an installed package carries them in its own
 * `install/` directory (scripts/pack.mjs puts them there); a repository checkout has them in
 * deploy/install and packages/agent/pack. Existence is checked per request.
 */
const packaged = (file: string): string | null => {
  const p = path.join(packageDir(), 'install', file);
  return existsSync(p) ? p : null;
};

/** The package's install/ directory, else the checkout's deploy/install. */
export const defaultInstallDir = (): string => (packaged('install.sh') ? path.join(packageDir(), 'install') : path.resolve(packageDir(), '../../deploy/install'));

/** The package's install/agent.tgz, else where packages/agent/scripts/pack.mjs writes it in a checkout. */
export const defaultAgentTarball = (): string => packaged('agent.tgz') ?? path.resolve(packageDir(), '../agent/pack/agent.tgz');
