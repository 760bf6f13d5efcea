import { z } from 'zod';
import { CronExpr, CronPreviewView, HostHooksView, MaintenanceCredentialSet, MaintenanceCredentialStatus, OverdueSchedulesView, RepoLocksView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';
import { DomainError } from '../services/errors.js';
import type { Actor } from '../services/context.js';

const MaintenanceCredentialBody = z.object({
  url: z.string().max(2048).nullable().optional(),
  rest_username: z.string().min(1).max(128),
  rest_password: z.string().min(1).max(1024),
}).strict();
type MaintenanceCredentialBody = z.infer<typeof MaintenanceCredentialBody>;
const HooksBody = z.object({ pre_hook: z.string().max(8192).nullable().default(null), post_hook: z.string().max(8192).nullable().default(null) }).strict();
type HooksBody = z.infer<typeof HooksBody>;
const PreviewQuery = z.object({
  cron_expr: CronExpr,
  time_zone: z.string().max(64).optional(),
  /** Without time_zone: use this host's zone (when set). */
  host_id: z.string().min(1).max(64).optional(),
});
type PreviewQuery = z.infer<typeof PreviewQuery>;

/**
 * GET/PUT/DELETE `/api/<scope>/:id/maintenance-credential`: a host's (its primary repository's) or
 * a repository's non-append-only credential for forget/prune; the password is never answered.
 */
function credentialRoutes(
  scope: 'hosts' | 'repositories',
  whose: string,
  status: (id: string) => Promise<z.infer<typeof MaintenanceCredentialStatus>>,
  set: (actor: Actor, id: string, body: MaintenanceCredentialBody | null) => Promise<z.infer<typeof MaintenanceCredentialSet>>,
): RouteSpec[] {
  const path = `/api/${scope}/:id/maintenance-credential`;
  return [
    route({
      method: 'get', path, summary: `Whether ${whose} maintenance credential is set (never its password)`, access: 'viewer', response: MaintenanceCredentialStatus,
      handler: ({ params }) => status(params.id ?? ''),
    }),
    route<MaintenanceCredentialBody>({
      method: 'put', path, summary: `Set ${whose} non-append-only credential for forget/prune (admin)`, access: 'admin', body: MaintenanceCredentialBody, response: MaintenanceCredentialSet,
      handler: ({ actor, params, body }) => set(actor, params.id ?? '', body),
    }),
    route({
      method: 'delete', path, summary: `Remove ${whose} maintenance credential (admin)`, access: 'admin', response: MaintenanceCredentialSet,
      handler: ({ actor, params }) => set(actor, params.id ?? '', null),
    }),
  ];
}

/** Issue 6 routes: maintenance credential (§7.4), host default hooks (§14.3), locks, cron preview, overdue. */
export function maintenanceRoutes(d: RouteDeps): RouteSpec[] {
  const m = d.services.maintenance;
  return [
    ...credentialRoutes('hosts', "the repository's", (id) => m.credentialStatus(id), (actor, id, body) => m.setCredential(actor, id, body)),
    ...credentialRoutes('repositories', "a repository's", (id) => m.repositoryCredentialStatus(id), (actor, id, body) => m.setRepositoryCredential(actor, id, body)),
    route<HooksBody>({
      method: 'put', path: '/api/hosts/:id/hooks', summary: 'Host default pre/post hooks for backup schedules (admin; sealed, pushed)', access: 'admin',
      body: HooksBody, response: HostHooksView,
      handler: ({ actor, params, body }) => m.setHostHooks(actor, params.id ?? '', body),
    }),
    route({
      method: 'get', path: '/api/hosts/:id/locks', summary: 'Repository locks last reported by the agent, with age and holder', access: 'viewer', response: RepoLocksView,
      handler: async ({ params }) => ({ items: await m.locks(params.id ?? '') }),
    }),
    route<undefined, PreviewQuery>({
      method: 'get', path: '/api/schedules/preview', summary: 'Validate a cron expression; its description and next five runs', access: 'viewer',
      query: PreviewQuery, response: CronPreviewView,
      handler: async ({ query }) => {
        const tz = query.time_zone || (query.host_id ? ((await d.services.hosts.get(query.host_id)).time_zone ?? null) : null);
        const p = m.preview(query.cron_expr, tz || null);
        if (!p.ok) throw new DomainError('validation_failed', `cron_expr: ${p.error}`, { cron_expr: p.error });
        return p;
      },
    }),
    route({
      method: 'get', path: '/api/schedules/overdue', summary: 'Enabled schedules whose last fire time passed without a run', access: 'viewer', response: OverdueSchedulesView,
      handler: async () => ({ items: await m.overdue() }),
    }),
  ];
}
