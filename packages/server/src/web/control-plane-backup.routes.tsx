import type { Context, Hono } from 'hono';
import { ControlPlaneBackupSettings } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { opt, parseForm } from './forms.js';
import { ControlPlaneBackupCard } from './pages/control-plane-backup.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard } from './web-context.js';

/** HX-Trigger toast (Latin-1 header: everything else as JSON \u escapes). */
const toast = (c: Context, message: string, kind: 'ok' | 'error' = 'ok') =>
  c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message, kind } }).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));

/** The card's form as the REST request (PUT /api/settings/control-plane-backup). */
export function controlPlaneBackupFromForm(f: Record<string, unknown>): unknown {
  const text = typeof f.recipients === 'string' ? f.recipients : '';
  return {
    enabled: f.enabled === 'on',
    cron_expr: opt(f.cron_expr) ?? '',
    time_zone: opt(f.time_zone) ?? '',
    repository_id: opt(f.repository_id) ?? null,
    recipients: text.split(/[\r\n]+/).map((l) => l.trim()).filter((l) => l !== ''),
    include_key: f.include_key === 'on',
  };
}

/** Settings → Control-plane backup (admin): the same service calls as /api/settings/control-plane-backup. */
export function mountControlPlaneBackupUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;
  const card = async () => <ControlPlaneBackupCard v={await s.controlPlaneBackup.get()} repositories={(await s.repositories.list(500, 0)).items} />;
  app.put('/settings/control-plane-backup', guard('admin'), async (c) => {
    const input = parseForm(ControlPlaneBackupSettings, controlPlaneBackupFromForm(await formOf(c)));
    await s.controlPlaneBackup.update(actorOf(c), input);
    toast(c, 'Control-plane backup saved.');
    return c.html(await card());
  });
  app.post('/settings/control-plane-backup/run', guard('admin'), async (c) => {
    const v = await s.controlPlaneBackup.runNow(actorOf(c));
    if (v.last_run?.status === 'succeeded') toast(c, `Control plane backed up: snapshot ${v.last_run.snapshot_id ?? ''}.`);
    else toast(c, 'The control-plane backup failed; see the error in the card.', 'error');
    return c.html(await card());
  });
}
