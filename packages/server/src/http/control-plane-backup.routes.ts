import type { z } from 'zod';
import { ControlPlaneBackupSettings, ControlPlaneBackupView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Settings → Control-plane backup (issue 20, docs/operations.md): admins only; no secret in any answer. */
export function controlPlaneBackupRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.controlPlaneBackup;
  return [
    route({
      method: 'get', path: '/api/settings/control-plane-backup', summary: "The control plane's own backup schedule, its next fire time and last run", access: 'admin',
      response: ControlPlaneBackupView,
      handler: () => s.get(),
    }),
    route<z.infer<typeof ControlPlaneBackupSettings>>({
      method: 'put', path: '/api/settings/control-plane-backup', summary: 'Set the control-plane backup: schedule, repository (by id), age recipients, whether the secret key is included', access: 'admin',
      body: ControlPlaneBackupSettings, response: ControlPlaneBackupView,
      handler: ({ actor, body }) => s.update(actor, body),
    }),
    route({
      method: 'post', path: '/api/settings/control-plane-backup/run', summary: 'Back up the control plane now; answers when it ended (the outcome is last_run: succeeded, or failed with its error)', access: 'admin',
      response: ControlPlaneBackupView,
      handler: ({ actor }) => s.runNow(actor),
    }),
  ];
}
