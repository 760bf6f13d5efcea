import { z } from 'zod';
import { JobView, VaultDrillRequest, VaultDrillTrustInput, VaultDrillTrustView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

const Started = z.object({ jobs: z.array(JobView), dispatched: z.boolean() });

/** Vault drills (issue 16, docs/recoverability.md "Vault drills"): admins mark trusted hosts, operators drill. */
export function vaultDrillRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.vaultDrills;
  return [
    route<z.infer<typeof VaultDrillRequest>>({
      method: 'post', path: '/api/hosts/:id/vault-drills',
      summary: "Drill the host's vault target now: the latest vault snapshot's seeded sample restored on a host trusted for vault drills (drill_host_id, or the first trusted host whose age identity matches the target's recipient) and verified against the snapshot's content hashes. Refused (409, with the reason) without such a host, and always on the backed-up host itself",
      access: 'operator', body: VaultDrillRequest, response: Started, status: 202, errors: ['agent_unavailable'],
      handler: ({ actor, params, body }) => s.run(actor, params.id ?? '', body),
    }),
    route({
      method: 'get', path: '/api/hosts/:id/vault-drill-trust',
      summary: "Whether the host is trusted for vault drills, and the age identity its agent reported (the public recipient, or why the identity file is refused; never the identity)",
      access: 'viewer', response: VaultDrillTrustView,
      handler: ({ params }) => s.trust(params.id ?? ''),
    }),
    route<z.infer<typeof VaultDrillTrustInput>>({
      method: 'put', path: '/api/hosts/:id/vault-drill-trust',
      summary: 'Mark (or unmark) the host trusted for vault drills (admin, audited as host.vault_drill_trust.set); the identity stays in a file on the host',
      access: 'admin', body: VaultDrillTrustInput, response: VaultDrillTrustView,
      handler: ({ actor, params, body }) => s.setTrust(actor, params.id ?? '', body),
    }),
  ];
}
