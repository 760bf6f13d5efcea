import { z } from 'zod';
import { ScheduleInput, ScheduleView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

export function scheduleRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.schedules;
  return [
    route({
      method: 'get', path: '/api/hosts/:id/schedules', summary: "The host's schedules (hooks shown as has_*)", access: 'viewer',
      response: z.object({ items: z.array(ScheduleView) }),
      handler: ({ params }) => s.list(params.id ?? ''),
    }),
    route<ScheduleInput>({
      method: 'post', path: '/api/hosts/:id/schedules', summary: 'Create a schedule and push schedule.set', access: 'operator',
      body: ScheduleInput, response: ScheduleView, status: 201, creates: { path: '/api/schedules/:id', pointer: '/id' },
      handler: ({ actor, params, body }) => s.create(actor, params.id ?? '', body),
    }),
    route<ScheduleInput>({
      method: 'put', path: '/api/schedules/:id', summary: 'Replace a schedule and push schedule.set', access: 'operator',
      body: ScheduleInput, response: ScheduleView,
      handler: ({ actor, params, body }) => s.update(actor, params.id ?? '', body),
    }),
    route({
      method: 'delete', path: '/api/schedules/:id', summary: 'Delete a schedule and push schedule.set', access: 'operator',
      handler: ({ actor, params }) => s.delete(actor, params.id ?? ''),
    }),
  ];
}
