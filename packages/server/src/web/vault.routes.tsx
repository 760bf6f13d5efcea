import type { Hono } from 'hono';
import { VaultDrillTrustInput, VaultTargetInput } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { nest, opt, parseForm } from './forms.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard, redirectTo } from './web-context.js';

const toast = (message: string): string => JSON.stringify({ 'rm:toast': { message, kind: 'ok' } });

/** The form's fields as a VaultTargetInput (empty fields left out; only the chosen storage's fields). */
export function vaultInputFromForm(f: Record<string, unknown>): unknown {
  const st = (f.storage ?? {}) as Record<string, unknown>;
  const type = opt(st.type) ?? 's3';
  const pick = (keys: string[]): Record<string, string> => Object.fromEntries(keys.map((k) => [k, opt(st[k])]).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const storage = type === 'local' ? { type, ...pick(['path']) } : { type, ...pick(['endpoint', 'bucket', 'prefix', 'region', 'access_key_id', 'secret_access_key']) };
  return { storage, age_recipient: opt(f.age_recipient) ?? '' };
}

/** Settings tab actions for the vault target (admins), the same service as PUT/DELETE /api/hosts/:id/vault. */
export function mountVaultUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;
  app.post('/hosts/:id/vault', guard('admin'), async (c) => {
    const input = parseForm(VaultTargetInput, vaultInputFromForm(nest(await formOf(c))));
    await s.vaults.set(actorOf(c), c.req.param('id'), input);
    c.header('HX-Trigger', toast('Vault target saved.'));
    return redirectTo(c, `/hosts/${c.req.param('id')}/settings`);
  });
  // The same service as PUT /api/hosts/:id/vault-drill-trust (audited).
  app.post('/hosts/:id/vault-drill-trust', guard('admin'), async (c) => {
    const f = await formOf(c);
    const input = parseForm(VaultDrillTrustInput, { trusted: f.trusted === 'true' ? true : f.trusted === 'false' ? false : f.trusted });
    const v = await s.vaultDrills.setTrust(actorOf(c), c.req.param('id'), input);
    c.header('HX-Trigger', toast(v.trusted ? 'Trusted for vault drills.' : 'No longer trusted for vault drills.'));
    return redirectTo(c, `/hosts/${c.req.param('id')}/settings`);
  });
  // The same service as POST /api/hosts/:id/vault-drills (refused, with the reason, without a trusted host).
  app.post('/hosts/:id/vault-drill', guard('operator'), async (c) => {
    const { jobs } = await s.vaultDrills.run(actorOf(c), c.req.param('id'), {});
    return redirectTo(c, `/jobs/${jobs[0]?.id ?? ''}`);
  });
  app.delete('/hosts/:id/vault', guard('admin'), async (c) => {
    await s.vaults.clear(actorOf(c), c.req.param('id'));
    c.header('HX-Trigger', toast('Vault target removed.'));
    return redirectTo(c, `/hosts/${c.req.param('id')}/settings`);
  });
}
