import type { z } from 'zod';
import {
  CopyPolicyView, CreateCopyPolicyRequest, HostCopyStatus, RunCopyPolicyRequest, RunCopyPolicyResponse, UpdateCopyPolicyRequest,
} from '@restic-manager/protocol';
import { crudRoutes } from './crud-routes.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Copy policies (3-2-1, docs/copies.md): admins write, operators run, everyone reads; no secret in any answer. */
export function copyPolicyRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.copies;
  return [
    ...crudRoutes({
      path: '/api/copy-policies', service: s, view: CopyPolicyView, writer: 'admin',
      create: { body: CreateCopyPolicyRequest, response: CopyPolicyView, pointer: '/id', summary: 'Add a copy policy (same engine, another repository; a cron only for mode schedule)' },
      update: { body: UpdateCopyPolicyRequest, summary: 'Change a copy policy (the source stays)' },
      summaries: {
        list: 'Copy policies with the last copy per host',
        get: 'One copy policy',
        delete: 'Delete a copy policy (the copies already made stay)',
      },
    }),
    route<z.infer<typeof RunCopyPolicyRequest>>({
      method: 'post', path: '/api/copy-policies/:id/run', summary: 'Queue a copy job now, for one host of the policy or all of them', access: 'operator',
      body: RunCopyPolicyRequest, response: RunCopyPolicyResponse, status: 202,
      handler: ({ actor, params, body }) => s.run(actor, params.id ?? '', body.host_id),
    }),
    route({
      method: 'get', path: '/api/hosts/:id/copy-status', summary: "The host's 3-2-1 status: each copy policy touching it (up_to_date, behind, failing, never) and whether a copy is off-site", access: 'viewer',
      response: HostCopyStatus,
      handler: ({ params }) => d.services.copyStatus.forHost(params.id ?? ''),
    }),
  ];
}
