import type { Services } from '../services/services.js';
import type { CookieOptions } from './auth.middleware.js';

/** What route modules receive. */
export interface RouteDeps {
  services: Services;
  cookie: CookieOptions;
  version: string;
}
