import { CapList, PutCapsRequest, QueueView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Concurrency caps and the queue (issue 21, docs/schedules.md "Concurrency caps"). */
export function capsRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route({
      method: 'get', path: '/api/queue',
      summary: 'Per concurrency cap: the jobs holding its slots and the jobs waiting for one, in order, each waiting job with `ahead` (slot releases before its turn)',
      access: 'viewer', response: QueueView,
      handler: () => s.caps.queue(),
    }),
    route({
      method: 'get', path: '/api/caps', summary: 'The concurrency caps (fleet-wide, per host tag, per repository backend), with the tags and backend keys in use', access: 'viewer',
      response: CapList,
      handler: () => s.caps.list(),
    }),
    route<PutCapsRequest>({
      method: 'put', path: '/api/caps',
      summary: 'Replace every concurrency cap (max_jobs a positive integer ≤ 1000; an unknown tag or backend key is kept and shown as unknown)',
      access: 'admin', body: PutCapsRequest, response: CapList,
      handler: ({ body, actor }) => s.caps.put(actor, body),
    }),
  ];
}
