import { LoginChallenge, LoginRequest, LoginResponse, TotpLoginRequest, UserView } from '@restic-manager/protocol';
import { z } from 'zod';
import { clearSessionCookie, setSessionCookie } from './auth.middleware.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

export function authRoutes(d: RouteDeps): RouteSpec[] {
  return [
    route<z.infer<typeof LoginRequest>>({
      method: 'post', path: '/api/auth/login', summary: 'Sign in; sets the session cookie and returns the CSRF token — or, for an account with a second factor, a challenge for POST /api/auth/login/totp', access: 'public',
      body: LoginRequest, response: z.union([LoginResponse, LoginChallenge]),
      async handler({ c, body, ip }) {
        const r = await d.services.auth.login(body.username, body.password, ip, c.req.header('user-agent') ?? null);
        if ('challenge' in r) return { second_factor: 'totp', challenge: r.challenge, expires_at: r.expires_at };
        setSessionCookie(c, r.token, d.cookie);
        return { user: r.user, csrf_token: r.session.csrfToken };
      },
    }),
    route<z.infer<typeof TotpLoginRequest>>({
      method: 'post', path: '/api/auth/login/totp', summary: 'Sign-in step 2: the challenge and a TOTP code (or a recovery code); sets the session cookie', access: 'public',
      body: TotpLoginRequest, response: LoginResponse,
      async handler({ c, body, ip }) {
        const { token, session, user } = await d.services.totp.completeLogin(body, ip, c.req.header('user-agent') ?? null);
        setSessionCookie(c, token, d.cookie);
        return { user, csrf_token: session.csrfToken };
      },
    }),
    route({
      method: 'post', path: '/api/auth/logout', summary: 'End the session', access: 'viewer', bearer: false, duringTotpSetup: true,
      async handler({ c, session }) {
        await d.services.auth.logout(session);
        clearSessionCookie(c, d.cookie);
        return undefined;
      },
    }),
    route({
      method: 'get', path: '/api/auth/me', summary: 'The signed-in user and the CSRF token (totp_setup_required: the role needs a second factor not set up yet)', access: 'viewer', duringTotpSetup: true,
      // scope_tags: the request's effective host-tag scope (the user's, narrowed by a token's); null = every host.
      response: LoginResponse.extend({ user: UserView.pick({ id: true, username: true, role: true }), totp_setup_required: z.boolean(), scope_tags: z.array(z.string()).nullable() }),
      handler: ({ session }) => Promise.resolve({ user: session.user, csrf_token: session.csrfToken, totp_setup_required: !!session.totpSetupRequired, scope_tags: session.scope ?? null }),
    }),
  ];
}
