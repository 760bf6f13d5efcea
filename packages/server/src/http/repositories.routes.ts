import { z } from 'zod';
import {
  CreateRepositoryRequest, CreateRepositoryResponse, HostRepositoryView, LedgerAcknowledgeResult, LedgerEntryView, LedgerQuery, LinkRepositoryRequest,
  RepoTestResult, RepositoryView, UpdateRepositoryRequest, page,
} from '@restic-manager/protocol';
import { crudRoutes } from './crud-routes.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

const TestRepositoryRequest = z.object({ host_id: z.string().min(1).max(64).optional() }).strict();

/** Repositories as their own objects (issue 15, docs/repositories.md): admins write, everyone reads, secrets never shown. */
export function repositoryRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.repositories;
  return [
    ...crudRoutes({
      path: '/api/repositories', service: s, view: RepositoryView, writer: 'admin',
      create: { body: CreateRepositoryRequest, response: CreateRepositoryResponse, pointer: '/repository/id', summary: 'Add a repository (`import: true`: an existing one); a generated password is returned once' },
      update: { body: UpdateRepositoryRequest, summary: 'Rename, replace credentials (whole), CA bundle or append-only; linked agents get config.update' },
      summaries: {
        list: 'Repositories with their backend, engine and hosts (credentials as `<field>_set` flags only)',
        get: 'One repository (no secrets)',
        delete: 'Forget a repository (its data is not touched); 409 while a schedule targets it or a host uses it',
      },
    }),
    route<z.infer<typeof TestRepositoryRequest>>({
      method: 'post', path: '/api/repositories/:id/test', summary: "Open the repository through a linked host's agent and say whether it works (error_kind no_agent when none is online)", access: 'admin',
      body: TestRepositoryRequest, response: RepoTestResult,
      handler: ({ actor, params, body }) => s.test(actor, params.id ?? '', body.host_id),
    }),
    route<undefined, z.infer<typeof LedgerQuery>>({
      method: 'get', path: '/api/repositories/:id/ledger', summary: 'The snapshot ledger: every snapshot the repository ever listed, gone ones first (`gone=true`: only those)', access: 'viewer',
      query: LedgerQuery, response: page(LedgerEntryView),
      handler: ({ params, query: q }) => d.services.ledger.list(params.id ?? '', q.gone === undefined ? undefined : q.gone === 'true', q.limit, q.offset),
    }),
    route({
      method: 'post', path: '/api/repositories/:id/ledger/acknowledge', summary: 'Acknowledge vanished snapshots / a keys change: lifts the forget/prune freeze and resolves the alerts (admin, audited); 409 when not frozen', access: 'admin',
      response: LedgerAcknowledgeResult,
      handler: async ({ actor, params }) => {
        const r = await d.services.ledger.acknowledge(actor, params.id ?? '');
        return { repository: await s.get(params.id ?? ''), ...r };
      },
    }),
    route({
      method: 'get', path: '/api/hosts/:id/repositories', summary: "The host's repositories, the primary first", access: 'viewer',
      response: z.object({ items: z.array(HostRepositoryView) }),
      handler: async ({ params, session }) => {
        const r = await s.forHost(params.id ?? '');
        // A scoped caller does not learn the ids of out-of-scope hosts sharing a repository.
        const mine = await d.services.scope.hostIds(session.scope);
        return mine ? { items: r.items.map((i) => ({ ...i, repository: { ...i.repository, host_ids: i.repository.host_ids.filter((h) => mine.includes(h)) } })) } : r;
      },
    }),
    route<z.infer<typeof LinkRepositoryRequest>>({
      method: 'put', path: '/api/hosts/:id/repositories/:repo_id', summary: 'Link a repository to the host (`primary: true` makes it the primary); pushes config.update', access: 'admin',
      body: LinkRepositoryRequest, response: HostRepositoryView,
      handler: ({ actor, params, body }) => s.link(actor, params.id ?? '', params.repo_id ?? '', body.primary),
    }),
    route({
      method: 'delete', path: '/api/hosts/:id/repositories/:repo_id', summary: "Unlink a repository from the host; 409 while a schedule targets it or it is the host's only one", access: 'admin', existsOnceSet: true,
      handler: ({ actor, params }) => s.unlink(actor, params.id ?? '', params.repo_id ?? ''),
    }),
  ];
}
