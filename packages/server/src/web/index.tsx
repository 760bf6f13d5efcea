import type { Hono } from 'hono';
import type { MountWeb } from '../http/app.js';
import type { AppEnv } from '../http/auth.middleware.js';
import { DomainError } from '../services/errors.js';
import { mountActions } from './action.routes.js';
import { NotFoundPage, mountPages } from './page.routes.js';
import { WebReadModel } from './read-model.js';
import { mountStatic } from './static.js';
import type { WebDeps } from './web-context.js';
import { isHx } from './web-context.js';

export type { WebDeps } from './web-context.js';

/**
 * Mounts the server-rendered web UI (pages, partials, form actions, /static assets) on the app.
 * Call after the app-wide `loadSession` + `csrf` middleware and before any catch-all 404.
 * Errors thrown by UI actions go through the app's error handler as JSON `{ error }` bodies,
 * which app.js shows as toasts; a missing host/job on a full page renders an HTML 404 page.
 */
export const mountWeb: MountWeb = (app: Hono<AppEnv>, deps: WebDeps): void => {
  const w = { ...deps, read: new WebReadModel(deps.db) };
  mountStatic(app);
  for (const p of ['/hosts/*', '/jobs/*']) {
    app.use(p, async (c, next) => {
      await next();
      const e = c.error;
      if (c.req.method === 'GET' && !isHx(c) && e instanceof DomainError && e.code === 'not_found') {
        c.res = undefined;
        c.res = await c.html(<NotFoundPage c={c} message={e.message} />, 404);
      }
    });
  }
  mountActions(app, w);
  mountPages(app, w);
};
