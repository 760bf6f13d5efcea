import { z } from 'zod';
import {
  AgentUpdateRequest, CreateHostRequest, EnrollmentTokenResponse, HostListQuery, HostTimeZoneRequest, HostView, RegenerateTokenRequest, RepoView, RepositoryInput,
  SetHostTagsRequest, SnapshotQuery, SnapshotView, page, DiscoveredDatabasesView,
} from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

export function hostRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route<undefined, z.infer<typeof HostListQuery>>({
      method: 'get', path: '/api/hosts', summary: 'List hosts with their denormalised projections', access: 'viewer',
      query: HostListQuery, response: page(HostView),
      // A scoped user or token sees only the hosts carrying one of its tags (http/token-guard.ts).
      handler: ({ query: q, session }) => s.hosts.list({ tag: q.tag, status: q.status, anyTag: session.scope ?? undefined }, q.limit, q.offset),
    }),
    route<z.infer<typeof CreateHostRequest>>({
      method: 'post', path: '/api/hosts', summary: 'Add a host: returns its one-time enrollment token (and generated secrets, once)', access: 'admin',
      body: CreateHostRequest, response: EnrollmentTokenResponse, status: 201, creates: { path: '/api/hosts/:id', pointer: '/host_id' },
      handler: ({ actor, body }) => s.hosts.addHost(actor, body),
    }),
    route({
      method: 'get', path: '/api/hosts/:id', summary: 'One host', access: 'viewer', response: HostView,
      handler: ({ params }) => s.hosts.get(params.id ?? ''),
    }),
    route({
      method: 'delete', path: '/api/hosts/:id', summary: 'Delete a host (revokes its agent bearer)', access: 'admin',
      handler: ({ actor, params }) => s.hosts.delete(actor, params.id ?? ''),
    }),
    route<z.infer<typeof RegenerateTokenRequest>>({
      method: 'post', path: '/api/hosts/:id/enrollment-token', summary: 'Regenerate the enrollment token (optionally with new credentials)', access: 'admin',
      body: RegenerateTokenRequest, response: EnrollmentTokenResponse, status: 201,
      handler: ({ actor, params, body }) => s.hosts.regenerateToken(actor, params.id ?? '', body.repository),
    }),
    route<{ repository: z.infer<typeof RepositoryInput> }>({
      method: 'put', path: '/api/hosts/:id/credentials', summary: 'Replace the repository credentials and push config.update (generated secrets returned once)', access: 'admin',
      body: z.object({ repository: RepositoryInput }).strict(),
      response: EnrollmentTokenResponse.pick({ host_id: true, generated_password: true, generated_rest_password: true, htpasswd_line: true }).extend({ pushed: z.boolean() }),
      handler: ({ actor, params, body }) => s.hosts.setCredentials(actor, params.id ?? '', body.repository),
    }),
    route<z.infer<typeof AgentUpdateRequest>>({
      method: 'post', path: '/api/hosts/:id/agent/update', summary: 'Tell the agent a new version is available (informational, §4.2)', access: 'admin',
      body: AgentUpdateRequest, response: z.object({ sent: z.boolean() }), status: 202,
      handler: async ({ actor, params, body }) => ({ sent: (await s.agentVersions.requestUpdate(actor, params.id ?? '', body)).sent }),
    }),
    route<z.infer<typeof SetHostTagsRequest>>({
      method: 'put', path: '/api/hosts/:id/tags', summary: "Replace the host's tags", access: 'operator',
      body: SetHostTagsRequest, response: HostView,
      handler: async ({ actor, params, body, session }) => {
        await s.scope.checkTagChange(session, params.id ?? '', body.tags);
        return s.hosts.setTags(actor, params.id ?? '', body.tags);
      },
    }),
    route<z.infer<typeof HostTimeZoneRequest>>({
      method: 'put', path: '/api/hosts/:id/time-zone', summary: "Set the host's IANA time zone (default zone of its schedules; pushes schedule.set); null clears it", access: 'operator',
      body: HostTimeZoneRequest, response: z.object({ host_id: z.string(), time_zone: z.string().nullable(), schedule_version: z.number().int() }),
      handler: ({ actor, params, body }) => s.schedules.setHostTimeZone(actor, params.id ?? '', body.time_zone),
    }),
    route<undefined, z.infer<typeof SnapshotQuery>>({
      method: 'get', path: '/api/hosts/:id/snapshots', summary: 'Cached snapshots of the host', access: 'viewer',
      query: SnapshotQuery, response: page(SnapshotView),
      handler: ({ params, query: q }) => s.fleet.snapshots(params.id ?? '', { tag: q.tag, path: q.path, since: q.since, until: q.until }, q.limit, q.offset),
    }),
    route({
      method: 'get', path: '/api/hosts/:id/databases', summary: "Databases the host's agent discovered (local servers, containers; no secrets)", access: 'viewer',
      response: DiscoveredDatabasesView,
      handler: ({ params }) => s.hosts.discoveredDatabases(params.id ?? ''),
    }),
    route({
      method: 'get', path: '/api/hosts/:id/repo', summary: 'The host repository projection (no secrets)', access: 'viewer', response: RepoView,
      handler: ({ params }) => s.hosts.repoOf(params.id ?? ''),
    }),
  ];
}
