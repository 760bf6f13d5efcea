import { z } from 'zod';
import { JobView, RestoreDrillRequest, RestoreDrillSummary, RestoreDrillTagRequest, VaultDrillRequest, VaultDrillTrustInput, VaultDrillTrustView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

const Started = z.object({ jobs: z.array(JobView), dispatched: z.boolean() });
const TagStarted = z.object({ jobs: z.array(JobView), refused: z.array(z.object({ host_id: z.string(), host: z.string(), error: z.string() })) });

/** Restore drills and vault drills (issue 16, docs/recoverability.md): operators run them, admins mark vault-drill hosts, everyone reads the proof. */
export function restoreDrillRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.drills;
  const v = d.services.vaultDrills;
  return [
    route<z.infer<typeof RestoreDrillRequest>>({
      method: 'post', path: '/api/hosts/:id/restore-drills',
      summary: "Drill the host's latest snapshot now: a seeded sample restored into a scratch directory and verified, on the host itself or on drill_host_id (through a temporary key); one job per repository of the host (cross-host: the primary)",
      access: 'operator', body: RestoreDrillRequest, response: Started, status: 202, errors: ['agent_unavailable'],
      handler: ({ actor, params, body }) => s.run(actor, params.id ?? '', body),
    }),
    route<z.infer<typeof RestoreDrillTagRequest>>({
      method: 'post', path: '/api/restore-drills',
      summary: 'Drill every enrolled host with a tag now: its repositories as POST /api/hosts/{id}/restore-drills would (drill_host_id applies to them) and its vault target as POST /api/hosts/{id}/vault-drills would on the first trusted host whose identity matches; each part that cannot run is listed in refused with the reason',
      access: 'operator', body: RestoreDrillTagRequest, response: TagStarted, status: 202,
      handler: ({ actor, body }) => d.services.hostDrills.runTag(actor, body),
    }),
    route({
      method: 'get', path: '/api/hosts/:id/restore-drills', summary: "The host's last proven restore (files, bytes, throughput, RTO estimate) and its recent drills",
      access: 'viewer', response: RestoreDrillSummary,
      handler: ({ params }) => s.summary(params.id ?? ''),
    }),
    // Vault drills (docs/recoverability.md "Vault drills"): admins mark trusted hosts, operators drill.
    route<z.infer<typeof VaultDrillRequest>>({
      method: 'post', path: '/api/hosts/:id/vault-drills',
      summary: "Drill the host's vault target now: the latest vault snapshot's seeded sample restored on a host trusted for vault drills (drill_host_id, or the first trusted host whose age identity matches the target's recipient) and verified against the snapshot's content hashes. Refused (409, with the reason) without such a host, and always on the backed-up host itself",
      access: 'operator', body: VaultDrillRequest, response: Started, status: 202, errors: ['agent_unavailable'],
      handler: ({ actor, params, body }) => v.run(actor, params.id ?? '', body),
    }),
    route({
      method: 'get', path: '/api/hosts/:id/vault-drill-trust',
      summary: "Whether the host is trusted for vault drills, and the age identity its agent reported (the public recipient, or why the identity file is refused; never the identity)",
      access: 'viewer', response: VaultDrillTrustView,
      handler: ({ params }) => v.trust(params.id ?? ''),
    }),
    route<z.infer<typeof VaultDrillTrustInput>>({
      method: 'put', path: '/api/hosts/:id/vault-drill-trust',
      summary: 'Mark (or unmark) the host trusted for vault drills (admin, audited as host.vault_drill_trust.set); the identity stays in a file on the host',
      access: 'admin', body: VaultDrillTrustInput, response: VaultDrillTrustView,
      handler: ({ actor, params, body }) => v.setTrust(actor, params.id ?? '', body),
    }),
  ];
}
