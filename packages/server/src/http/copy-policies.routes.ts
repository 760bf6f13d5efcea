import type { z } from 'zod';
import {
  CopyPolicyView, CreateCopyPolicyRequest, HostCopyStatus, PageQuery, RunCopyPolicyRequest, RunCopyPolicyResponse, UpdateCopyPolicyRequest, page,
} from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Copy policies (3-2-1, docs/copies.md): admins write, operators run, everyone reads; no secret in any answer. */
export function copyPolicyRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.copies;
  return [
    route<undefined, z.infer<typeof PageQuery>>({
      method: 'get', path: '/api/copy-policies', summary: 'Copy policies with the last copy per host', access: 'viewer',
      query: PageQuery, response: page(CopyPolicyView),
      handler: ({ query: q }) => s.list(q.limit, q.offset),
    }),
    route<z.infer<typeof CreateCopyPolicyRequest>>({
      method: 'post', path: '/api/copy-policies', summary: 'Add a copy policy (same engine, another repository; a cron only for mode schedule)', access: 'admin',
      body: CreateCopyPolicyRequest, response: CopyPolicyView, status: 201, creates: { path: '/api/copy-policies', pointer: '/id' },
      handler: ({ actor, body }) => s.create(actor, body),
    }),
    route({
      method: 'get', path: '/api/copy-policies/:id', summary: 'One copy policy', access: 'viewer', response: CopyPolicyView,
      handler: ({ params }) => s.get(params.id ?? ''),
    }),
    route<z.infer<typeof UpdateCopyPolicyRequest>>({
      method: 'patch', path: '/api/copy-policies/:id', summary: 'Change a copy policy (the source stays)', access: 'admin',
      body: UpdateCopyPolicyRequest, response: CopyPolicyView,
      handler: ({ actor, params, body }) => s.update(actor, params.id ?? '', body),
    }),
    route({
      method: 'delete', path: '/api/copy-policies/:id', summary: 'Delete a copy policy (the copies already made stay)', access: 'admin',
      handler: ({ actor, params }) => s.delete(actor, params.id ?? ''),
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
