import type { Context, Hono } from 'hono';
import { AuthSettingsUpdate, TotpCodeRequest } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { list, opt, parseForm } from './forms.js';
import { RecoveryCodesCard, SecurityPage, TotpCard, TotpPolicyCard, TotpSetupCard } from './pages/security.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard, viewerOf } from './web-context.js';

/** Settings → Security: TOTP enrolment and the per-role requirement, through the same service as /api/auth/totp. */
export function mountSecurityUi(app: Hono<AppEnv>, w: WebCtx): void {
  const t = w.services.totp;
  const open = guard('viewer', { duringTotpSetup: true });
  const me = (c: Context<AppEnv>) => c.get('session')?.user.id ?? '';
  const code = async (c: Context<AppEnv>) => parseForm(TotpCodeRequest, { code: opt((await formOf(c)).code) ?? '' }).code;

  app.get('/settings/security', open, async (c) => {
    const viewer = viewerOf(c);
    const status = await t.status(me(c));
    const requiredRoles = viewer.role === 'admin' && !c.get('session')?.totpSetupRequired ? (await t.settings()).totp_required_roles : null;
    return c.html(<SecurityPage viewer={viewer} status={status} passwordAccount={status.available} requiredRoles={requiredRoles} mustSetUp={!!c.get('session')?.totpSetupRequired} />);
  });
  app.post('/settings/security/totp/setup', open, async (c) => c.html(<TotpSetupCard setup={await t.setup(actorOf(c))} />));
  app.post('/settings/security/totp/enable', open, async (c) => c.html(<RecoveryCodesCard codes={(await t.enable(actorOf(c), await code(c))).recovery_codes} />));
  app.post('/settings/security/totp/recovery-codes', open, async (c) => c.html(<RecoveryCodesCard codes={(await t.regenerateRecoveryCodes(actorOf(c), await code(c))).recovery_codes} />));
  app.post('/settings/security/totp/disable', open, async (c) => {
    await t.disable(actorOf(c), await code(c));
    return c.html(<TotpCard status={await t.status(me(c))} />);
  });
  app.post('/settings/security/policy', guard('admin'), async (c) => {
    const f = await formOf(c, { all: true });
    const input = parseForm(AuthSettingsUpdate, { totp_required_roles: list(f.roles) });
    return c.html(<TotpPolicyCard roles={(await t.setSettings(actorOf(c), input.totp_required_roles)).totp_required_roles} />);
  });
}
