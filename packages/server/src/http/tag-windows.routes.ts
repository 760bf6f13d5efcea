import { z } from 'zod';
import { TagWindowsView, WindowSetSchema } from '@restic-manager/protocol';
import type { WindowSetInput } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Backup windows per host tag (issue 21, docs/schedules.md "Backup windows"). */
export function tagWindowsRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.tagWindows;
  return [
    route({
      method: 'get', path: '/api/tag-windows', summary: 'Backup windows per host tag (applied to every schedule of a host carrying the tag)', access: 'viewer',
      response: z.object({ items: z.array(TagWindowsView) }),
      handler: () => s.list(),
    }),
    route<WindowSetInput>({
      method: 'put', path: '/api/tag-windows/:tag', summary: "Set a tag's backup windows and blackout dates (a set that never opens is refused naming the field); pushes schedule.set to its hosts", access: 'admin',
      body: WindowSetSchema, response: TagWindowsView,
      handler: ({ actor, params, body }) => s.put(actor, params.tag ?? '', body),
    }),
    route({
      method: 'delete', path: '/api/tag-windows/:tag', summary: "Remove a tag's backup windows; pushes schedule.set to its hosts", access: 'admin',
      handler: ({ actor, params }) => s.delete(actor, params.tag ?? ''),
    }),
  ];
}
