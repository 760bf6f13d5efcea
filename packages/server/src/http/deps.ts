import type { Services } from '../services/services.js';
import type { CookieOptions } from './auth.middleware.js';
import type { OidcService } from '../services/oidc.service.js';

/** What route modules receive. */
export interface RouteDeps {
  services: Services;
  cookie: CookieOptions;
  version: string;
  signIn: SignInOptions;
}

/** How users may sign in: OIDC (when configured) and/or the password form. */
export interface SignInOptions {
  oidc: OidcService | null;
  passwordLogin: boolean;
}
