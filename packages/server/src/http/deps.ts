import type { Services } from '../services/services.js';
import type { CookieOptions } from './auth.middleware.js';
import type { SignInOptions } from './oidc.routes.js';

/** What route modules receive. */
export interface RouteDeps {
  services: Services;
  cookie: CookieOptions;
  version: string;
  signIn: SignInOptions;
}
