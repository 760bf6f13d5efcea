import { z } from 'zod';
import { JobView, RestoreDrillRequest, RestoreDrillSummary, RestoreDrillTagRequest } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

const Started = z.object({ jobs: z.array(JobView), dispatched: z.boolean() });
const TagStarted = z.object({ jobs: z.array(JobView), refused: z.array(z.object({ host_id: z.string(), host: z.string(), error: z.string() })) });

/** Restore drills (issue 16, docs/recoverability.md "Restore drills"): operators run them, everyone reads the proof. */
export function restoreDrillRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.drills;
  return [
    route<z.infer<typeof RestoreDrillRequest>>({
      method: 'post', path: '/api/hosts/:id/restore-drills',
      summary: "Drill the host's latest snapshot now: a seeded sample restored into a scratch directory and verified, on the host itself or on drill_host_id (through a temporary key); one job per repository of the host (cross-host: the primary)",
      access: 'operator', body: RestoreDrillRequest, response: Started, status: 202, errors: ['agent_unavailable'],
      handler: ({ actor, params, body }) => s.run(actor, params.id ?? '', body),
    }),
    route<z.infer<typeof RestoreDrillTagRequest>>({
      method: 'post', path: '/api/restore-drills',
      summary: 'Drill every enrolled host with a tag now (each as POST /api/hosts/{id}/restore-drills would); hosts that cannot be drilled are listed in refused with the reason',
      access: 'operator', body: RestoreDrillTagRequest, response: TagStarted, status: 202,
      handler: ({ actor, body }) => s.runTag(actor, body),
    }),
    route({
      method: 'get', path: '/api/hosts/:id/restore-drills', summary: "The host's last proven restore (files, bytes, throughput, RTO estimate) and its recent drills",
      access: 'viewer', response: RestoreDrillSummary,
      handler: ({ params }) => s.summary(params.id ?? ''),
    }),
  ];
}
