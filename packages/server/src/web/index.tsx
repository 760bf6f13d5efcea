import type { Hono } from 'hono';
import type { MountWeb } from '../http/app.js';
import type { AppEnv } from '../http/auth.middleware.js';
import { DomainError } from '../services/errors.js';
import { mountActions } from './action.routes.js';
import { mountAgentUi } from './agent.routes.js';
import { ErrorPage } from './components/error-page.js';
import { mountNotificationUi } from './notification.routes.js';
import { mountTokenUi } from './token.routes.js';
import { mountSecurityUi } from './security.routes.js';
import { mountControlPlaneBackupUi } from './control-plane-backup.routes.js';
import { mountTagWindowsUi } from './tag-windows.routes.js';
import { mountQueueUi } from './queue.routes.js';
import { mountPages } from './page.routes.js';
import { mountRestoreUi } from './restore.routes.js';
import { mountInspectUi } from './inspect.routes.js';
import { mountRepositoryUi } from './repository.routes.js';
import { mountCopyUi } from './copy.routes.js';
import { mountScheduleUi } from './schedule.routes.js';
import { mountVaultUi } from './vault.routes.js';
import { WebReadRepository } from '../repositories/web-read.repository.js';
import { mountStatic } from './static.js';
import { mountWebScope } from './scope.js';
import type { WebDeps } from './web-context.js';
import { isHx } from './web-context.js';

export type { WebDeps } from './web-context.js';

/** Same-origin everything; inline style attributes are used by a few components. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/**
 * Mounts the server-rendered web UI (pages, partials, form actions, /static assets) on the app.
 * Call after the app-wide `loadSession` + `csrf` middleware and before any catch-all 404.
 * Errors thrown by UI actions go through the app's error handler as JSON `{ error }` bodies,
 * which app.js shows as toasts; a missing host/job on a full page renders an HTML 404 page.
 */
export const mountWeb: MountWeb = (app: Hono<AppEnv>, deps: WebDeps): void => {
  const w = { ...deps, read: new WebReadRepository(deps.db) };
  mountStatic(app);
  app.use('*', async (c, next) => {
    await next();
    if ((c.res.headers.get('content-type') ?? '').startsWith('text/html')) c.res.headers.set('Content-Security-Policy', CSP);
    if (c.req.method !== 'GET' || isHx(c)) return;
    const e = c.error;
    if (e instanceof DomainError && e.code === 'not_found') {
      c.res = undefined;
      c.res = await c.html(<ErrorPage c={c} title="Not found" message={e.message} />, 404, { 'Content-Security-Policy': CSP });
    } else if (c.res.status === 403 && c.get('session')) {
      const body = (await c.res.clone().json().catch(() => null)) as { error?: { message?: string } } | null;
      c.res = undefined;
      c.res = await c.html(<ErrorPage c={c} title="Not allowed" message={`This page ${body?.error?.message ?? 'needs a higher role'}.`} />, 403, { 'Content-Security-Policy': CSP });
    }
  });
  mountWebScope(app, w);
  mountScheduleUi(app, w);
  mountVaultUi(app, w);
  mountRepositoryUi(app, w);
  mountCopyUi(app, w);
  mountRestoreUi(app, w);
  mountInspectUi(app, w);
  mountActions(app, w);
  mountAgentUi(app, w);
  mountNotificationUi(app, w);
  mountTokenUi(app, w);
  mountSecurityUi(app, w);
  mountControlPlaneBackupUi(app, w);
  mountTagWindowsUi(app, w);
  mountQueueUi(app, w);
  mountPages(app, w);
};
