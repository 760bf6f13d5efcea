/**
 * @restic-manager/server — the control plane (spec §4.1). Public surface (test helpers such as
 * FakeAgent live in `@restic-manager/server/testing`):
 *   startServer(config)  start in-process (tests, demo, CLI)
 *   loadConfigFromEnv / resolveConfig / ConfigError
 *   auth middleware, route table types and the web UI mount hook for packages/server/src/web
 */
export { startServer } from './server.js';
export type { RunningServer, StartOptions } from './server.js';
export { ConfigError, loadConfigFromEnv, resolveConfig } from './config.js';
export type { ServerConfig, ServerConfigInput } from './config.js';
export type { MountWeb, WebContext } from './http/app.js';
export {
  CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, SECURE_SESSION_COOKIE, sessionCookieName, clearSessionCookie, csrf, loadSession, requireRole, roleAtLeast, setSessionCookie,
} from './http/auth.middleware.js';
export type { AppEnv, CookieOptions } from './http/auth.middleware.js';
export type { RouteSpec, Access } from './http/route.js';
export type { Services } from './services/services.js';
export type { Actor } from './services/context.js';
export { DomainError } from './services/errors.js';
export type { DomainErrorCode } from './services/errors.js';
export { SERVER_VERSION } from './version.js';
export { copySqliteFile, StoreCopyError } from './store/copy.js';
export type { CopyReport, TableReport } from './store/copy.js';
