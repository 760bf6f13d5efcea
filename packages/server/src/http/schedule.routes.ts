import { z } from 'zod';
import { ScheduleInput, ScheduleView, TagWindowsView, WindowSetSchema } from '@restic-manager/protocol';
import type { WindowSetInput } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

export function scheduleRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.schedules;
  const w = d.services.tagWindows;
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
    // Backup windows per host tag (issue 21, docs/schedules.md "Backup windows"), applied to every schedule of a host carrying the tag.
    route({
      method: 'get', path: '/api/tag-windows', summary: 'Backup windows per host tag (applied to every schedule of a host carrying the tag)', access: 'viewer',
      response: z.object({ items: z.array(TagWindowsView) }),
      handler: () => w.list(),
    }),
    route<WindowSetInput>({
      method: 'put', path: '/api/tag-windows/:tag', summary: "Set a tag's backup windows and blackout dates (a set that never opens is refused naming the field); pushes schedule.set to its hosts", access: 'admin',
      body: WindowSetSchema, response: TagWindowsView,
      handler: ({ actor, params, body }) => w.put(actor, params.tag ?? '', body),
    }),
    route({
      method: 'delete', path: '/api/tag-windows/:tag', summary: "Remove a tag's backup windows; pushes schedule.set to its hosts", access: 'admin',
      handler: ({ actor, params }) => w.delete(actor, params.tag ?? ''),
    }),
  ];
}
