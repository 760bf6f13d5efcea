import type { z } from 'zod';
import { VaultTargetInput, VaultTargetView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** A host's vault target (docs/vault.md "Fleet"): admins set and clear it, everyone sees it without secrets. */
export function vaultRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route({
      method: 'get', path: '/api/hosts/:id/vault', summary: "The host's vault target (no secrets), its vault snapshots and the restore command", access: 'viewer',
      response: VaultTargetView, existsOnceSet: true,
      handler: ({ params }) => s.vaults.get(params.id ?? ''),
    }),
    route<z.infer<typeof VaultTargetInput>>({
      method: 'put', path: '/api/hosts/:id/vault', summary: 'Set the vault target: storage (S3 keys sealed; omit them to keep the stored ones) and the age RECIPIENT (never a private key)', access: 'admin',
      body: VaultTargetInput, response: VaultTargetView,
      handler: ({ actor, params, body }) => s.vaults.set(actor, params.id ?? '', body),
    }),
    route({
      method: 'delete', path: '/api/hosts/:id/vault', summary: "Remove the host's vault target (the stored data is not touched)", access: 'admin', existsOnceSet: true,
      handler: ({ actor, params }) => s.vaults.clear(actor, params.id ?? ''),
    }),
  ];
}
