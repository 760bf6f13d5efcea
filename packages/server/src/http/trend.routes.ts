import type { z } from 'zod';
import { FleetTrendQuery, FleetTrendsView, HostTrendQuery, HostTrendsView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Repository trends (docs/server.md "Trends"). */
export function trendRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route<undefined, z.infer<typeof HostTrendQuery>>({
      method: 'get', path: '/api/hosts/:id/trends',
      summary: 'Time series of one host: repository size, snapshots, dedup ratio, and per-backup added bytes, duration and files (raw for 30 days, one point per day after)',
      access: 'viewer', query: HostTrendQuery, response: HostTrendsView,
      handler: ({ params, query }) => s.trends.hostTrends(params.id ?? '', query),
    }),
    route<undefined, z.infer<typeof FleetTrendQuery>>({
      method: 'get', path: '/api/fleet/trends', summary: 'Total repository bytes across hosts per UTC day', access: 'viewer',
      query: FleetTrendQuery, response: FleetTrendsView,
      handler: ({ query }) => s.trends.fleetTrends(query),
    }),
  ];
}
