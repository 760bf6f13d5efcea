import { z } from 'zod';
import { DbRestoreRequest, JobListQuery, JobLogQuery, JobLogView, JobView, RestoreRequest, RunJobRequest, SnapshotLsQuery, SnapshotLsView, page } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

const Started = z.object({ job: JobView, dispatched: z.boolean() });

export function jobRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route<z.infer<typeof RunJobRequest>>({
      method: 'post', path: '/api/hosts/:id/jobs', summary: 'Run now: queue a job and send command.run to the agent', access: 'operator',
      body: RunJobRequest, response: Started, status: 202, creates: { path: '/api/jobs/:id', pointer: '/job/id' },
      handler: ({ actor, params, body }) => s.jobs.runNow(actor, params.id ?? '', body.kind, body.args as Record<string, unknown>, { repositoryId: body.repository_id }),
    }),
    route<z.infer<typeof RestoreRequest>>({
      method: 'post', path: '/api/hosts/:id/restore', summary: "Restore wizard submit: restore selected paths of a snapshot (of this host or source_host_id) onto this host, in place, under a directory, or remapped. Cross-host: 409 when only the source's permanent credential would do (an admin may confirm a one-off with share_source_credential)", access: 'operator',
      body: RestoreRequest, response: Started, status: 202, errors: ['agent_unavailable'], creates: { path: '/api/jobs/:id', pointer: '/job/id' },
      // The scope guard checks the target host (path) and a cross-host source_host_id (body).
      handler: ({ actor, params, body }) => s.restore.submit(actor, params.id ?? '', body),
    }),
    route<z.infer<typeof DbRestoreRequest>>({
      method: 'post', path: '/api/hosts/:id/restore/database', summary: "Restore a database dump snapshot of this host into a database server (restic dump streamed into psql --single-transaction, pg_restore or mariadb)", access: 'operator',
      body: DbRestoreRequest, response: Started, status: 202, creates: { path: '/api/jobs/:id', pointer: '/job/id' },
      handler: ({ actor, params, body }) => s.dbRestore.submit(actor, params.id ?? '', body),
    }),
    route<undefined, z.infer<typeof SnapshotLsQuery>>({
      method: 'get', path: '/api/hosts/:id/snapshots/:snapshot_id/ls', summary: "One page of a snapshot directory's direct children, listed by the host's agent", access: 'operator',
      query: SnapshotLsQuery, response: SnapshotLsView, errors: ['agent_unavailable'],
      handler: ({ params, query: q }) => s.browse.ls(params.id ?? '', params.snapshot_id ?? '', q.path, q.limit, q.offset),
    }),
    route<undefined, z.infer<typeof JobListQuery>>({
      method: 'get', path: '/api/jobs', summary: 'List jobs', access: 'viewer', query: JobListQuery, response: page(JobView),
      // A scoped caller sees only the jobs of hosts in its scope (http/token-guard.ts).
      handler: async ({ query: q, session }) => s.jobs.list({ host_id: q.host_id, kind: q.kind, status: q.status, since: q.since, until: q.until, host_ids: await s.scope.hostIds(session.scope) }, q.order, q.limit, q.offset),
    }),
    route({
      method: 'get', path: '/api/jobs/:id', summary: 'One job', access: 'viewer', response: JobView,
      handler: ({ params }) => s.jobs.get(params.id ?? ''),
    }),
    route<undefined, z.infer<typeof JobLogQuery>>({
      method: 'get', path: '/api/jobs/:id/logs', summary: 'Job log lines after a sequence number', access: 'viewer',
      query: JobLogQuery, response: z.object({ items: z.array(JobLogView), next_after_seq: z.number().int() }),
      handler: ({ params, query: q }) => s.jobs.logs(params.id ?? '', q.after_seq, q.limit),
    }),
    route({
      method: 'post', path: '/api/jobs/:id/cancel', summary: 'Cancel: sends command.cancel (or cancels a job not yet sent)', access: 'operator',
      response: z.object({ job: JobView, sent: z.boolean() }), status: 202,
      handler: ({ actor, params }) => s.jobs.cancel(actor, params.id ?? ''),
    }),
  ];
}
