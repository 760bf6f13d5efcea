import { AuthSettingsUpdate, AuthSettingsView, RecoveryCodesView, TotpCodeRequest, TotpSetupView, TotpStatusView } from '@restic-manager/protocol';
import type { z } from 'zod';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/**
 * TOTP second factor (issue 21, docs/server.md "Two-factor sign-in"): the signed-in user's own
 * enrolment (session only, open while their role waits for it), the admin's per-role
 * requirement and reset. Sign-in itself is POST /api/auth/login → /api/auth/login/totp.
 */
export function totpRoutes(d: RouteDeps): RouteSpec[] {
  const t = d.services.totp;
  const own = { access: 'viewer', bearer: false, duringTotpSetup: true } as const;
  return [
    route({
      method: 'get', path: '/api/auth/totp', summary: 'Your second factor: on or off, required by your role, recovery codes left', ...own, response: TotpStatusView,
      handler: ({ session }) => t.status(session.user.id),
    }),
    route({
      method: 'post', path: '/api/auth/totp/setup', summary: 'Start enrolment: a new secret (base32 and otpauth:// URI) for your authenticator app, pending until confirmed', ...own, response: TotpSetupView,
      handler: ({ actor }) => t.setup(actor),
    }),
    route<z.infer<typeof TotpCodeRequest>>({
      method: 'post', path: '/api/auth/totp/enable', summary: 'Confirm enrolment with a code; returns the recovery codes, this once', ...own, body: TotpCodeRequest, response: RecoveryCodesView,
      handler: ({ actor, body }) => t.enable(actor, body.code),
    }),
    route<z.infer<typeof TotpCodeRequest>>({
      method: 'post', path: '/api/auth/totp/disable', summary: 'Turn your second factor off with a current code (refused while your role requires it)', ...own, body: TotpCodeRequest,
      handler: ({ actor, body }) => t.disable(actor, body.code),
    }),
    route<z.infer<typeof TotpCodeRequest>>({
      method: 'post', path: '/api/auth/totp/recovery-codes', summary: 'New recovery codes with a current code (the old ones stop working); shown this once', ...own, body: TotpCodeRequest, response: RecoveryCodesView,
      handler: ({ actor, body }) => t.regenerateRecoveryCodes(actor, body.code),
    }),
    route({
      method: 'post', path: '/api/users/:id/totp/reset', summary: "Remove a user's second factor (a lost device) and end their sessions", access: 'admin', bearer: false,
      handler: ({ actor, params }) => t.reset(actor, params.id ?? ''),
    }),
    route({
      method: 'get', path: '/api/auth-settings', summary: 'Sign-in policy: the roles that must use a second factor', access: 'admin', response: AuthSettingsView,
      handler: () => t.settings(),
    }),
    route<z.infer<typeof AuthSettingsUpdate>>({
      method: 'put', path: '/api/auth-settings', summary: 'Set the roles that must sign in with a second factor (their next request asks them to set one up)', access: 'admin', bearer: false,
      body: AuthSettingsUpdate, response: AuthSettingsView,
      handler: ({ actor, body }) => t.setSettings(actor, body.totp_required_roles),
    }),
  ];
}
