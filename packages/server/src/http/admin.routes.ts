import { z } from 'zod';
import {
  AlertFilterQuery, AlertView, AuditQuery, AuditView, CreateUserRequest, EnrollRequest, EnrollResponse, FleetSummary, PageQuery, RepoView,
  Role, SetUserScopeRequest, UserView, page,
} from '@restic-manager/protocol';
import { userView } from '../services/auth.service.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Fleet, repos, alerts, audit, users, and agent enrollment. */
export function adminRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route({
      method: 'get', path: '/api/fleet/summary', summary: 'Host counts by status, total bytes, open alerts', access: 'viewer', response: FleetSummary,
      handler: ({ session }) => s.fleet.summary(session.scope),
    }),
    route<undefined, z.infer<typeof PageQuery>>({
      method: 'get', path: '/api/repos', summary: 'Repositories (no secrets)', access: 'viewer', query: PageQuery, response: page(RepoView),
      handler: ({ query: q }) => s.hosts.listRepos(q.limit, q.offset),
    }),
    route({
      method: 'get', path: '/api/repos/:id', summary: 'One repository', access: 'viewer', response: RepoView,
      handler: ({ params }) => s.hosts.repo(params.id ?? ''),
    }),
    route<undefined, z.infer<typeof AlertFilterQuery>>({
      method: 'get', path: '/api/alerts', summary: 'Alerts, newest first; ?open=true|false (open / resolved), ?kind=, ?host_id=', access: 'viewer', query: AlertFilterQuery, response: page(AlertView),
      handler: async ({ query: q, session }) => s.fleet.alerts({ host_id: q.host_id, kind: q.kind, open: q.open === undefined ? undefined : q.open === 'true', host_ids: await s.scope.hostIds(session.scope) }, q.limit, q.offset),
    }),
    route({
      method: 'post', path: '/api/alerts/:id/ack', summary: 'Acknowledge an alert', access: 'operator', response: AlertView,
      handler: ({ actor, params }) => s.fleet.ackAlert(actor, params.id ?? ''),
    }),
    route<undefined, z.infer<typeof AuditQuery>>({
      method: 'get', path: '/api/audit', summary: 'Audit log, filtered by actor, target and time', access: 'admin', query: AuditQuery, response: page(AuditView),
      handler: ({ query: q }) => s.audit.list(q, q.limit, q.offset),
    }),
    route<undefined, z.infer<typeof PageQuery>>({
      method: 'get', path: '/api/users', summary: 'Users', access: 'admin', query: PageQuery, response: page(UserView),
      handler: ({ query: q }) => s.auth.listUsers(q.limit, q.offset),
    }),
    route<z.infer<typeof CreateUserRequest>>({
      method: 'post', path: '/api/users', summary: 'Create a user', access: 'admin', body: CreateUserRequest, response: UserView, status: 201, creates: { path: '/api/users/:id', pointer: '/id' },
      handler: async ({ actor, body }) => userView(await s.auth.createUser(actor, body)),
    }),
    route<z.infer<typeof SetUserScopeRequest>>({
      method: 'put', path: '/api/users/:id/scope', summary: "Limit a user to hosts carrying any of scope_tags (null: every host); refused for admins. Out-of-scope hosts answer 403", access: 'admin',
      body: SetUserScopeRequest, response: UserView,
      handler: async ({ actor, params, body }) => userView(await s.auth.setScope(actor, params.id ?? '', body.scope_tags)),
    }),
    route<{ role: Role }>({
      method: 'put', path: '/api/users/:id/role', summary: "Change a user's role (ends their sessions)", access: 'admin',
      body: z.object({ role: Role }).strict(), response: UserView,
      handler: async ({ actor, params, body }) => userView(await s.auth.setRole(actor, params.id ?? '', body.role)),
    }),
    route<z.infer<typeof EnrollRequest>>({
      method: 'post', path: '/api/agents/enroll', summary: 'Agent enrollment with a one-time token (no session)', access: 'public',
      body: EnrollRequest, response: EnrollResponse, status: 201,
      handler: ({ body, ip }) => s.enrollment.enroll(body, ip),
    }),
  ];
}
