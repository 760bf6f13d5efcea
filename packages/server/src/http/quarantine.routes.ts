import { z } from 'zod';
import { PageQuery, QuarantinedReportView, page } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Agent reports the server set aside as unstorable (issue 22, services/report-quarantine.service.ts). */
export function quarantineRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route<undefined, z.infer<typeof PageQuery>>({
      method: 'get', path: '/api/hosts/:id/quarantined-reports', summary: "The host's agent reports that could not be stored and were set aside, newest first (admin)", access: 'admin',
      query: PageQuery, response: page(QuarantinedReportView),
      handler: ({ params, query: q }) => s.quarantine.list(params.id ?? '', q.limit, q.offset),
    }),
    route({
      method: 'delete', path: '/api/hosts/:id/quarantined-reports', summary: "Discard the host's quarantined reports (audited) and resolve its report_quarantined alert (admin)", access: 'admin',
      response: z.object({ discarded: z.number().int() }),
      handler: ({ actor, params }) => s.quarantine.discard(actor, params.id ?? ''),
    }),
  ];
}
