import { LoginRequest, LoginResponse, UserView } from '@restic-manager/protocol';
import type { z } from 'zod';
import { clearSessionCookie, setSessionCookie } from './auth.middleware.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

export function authRoutes(d: RouteDeps): RouteSpec[] {
  return [
    route<z.infer<typeof LoginRequest>>({
      method: 'post', path: '/api/auth/login', summary: 'Sign in; sets the session cookie and returns the CSRF token', access: 'public',
      body: LoginRequest, response: LoginResponse,
      async handler({ c, body, ip }) {
        const { token, session, user } = await d.services.auth.login(body.username, body.password, ip, c.req.header('user-agent') ?? null);
        setSessionCookie(c, token, d.cookie);
        return { user, csrf_token: session.csrfToken };
      },
    }),
    route({
      method: 'post', path: '/api/auth/logout', summary: 'End the session', access: 'viewer', bearer: false,
      async handler({ c, session }) {
        await d.services.auth.logout(session);
        clearSessionCookie(c, d.cookie);
        return undefined;
      },
    }),
    route({
      method: 'get', path: '/api/auth/me', summary: 'The signed-in user and the CSRF token', access: 'viewer',
      response: LoginResponse.extend({ user: UserView.pick({ id: true, username: true, role: true }) }),
      handler: ({ session }) => Promise.resolve({ user: session.user, csrf_token: session.csrfToken }),
    }),
  ];
}
