import { z } from 'zod';
import {
  CreateRepositoryRequest, CreateRepositoryResponse, HostRepositoryView, LedgerAcknowledgeResult, LedgerEntryView, LedgerQuery, LinkRepositoryRequest,
  PageQuery, RepoTestResult, RepositoryView, UpdateRepositoryRequest, page,
} from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

const TestRepositoryRequest = z.object({ host_id: z.string().min(1).max(64).optional() }).strict();

/** Repositories as their own objects (issue 15, docs/repositories.md): admins write, everyone reads, secrets never shown. */
export function repositoryRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services.repositories;
  return [
    route<undefined, z.infer<typeof PageQuery>>({
      method: 'get', path: '/api/repositories', summary: 'Repositories with their backend, engine and hosts (credentials as `<field>_set` flags only)', access: 'viewer',
      query: PageQuery, response: page(RepositoryView),
      handler: ({ query: q }) => s.list(q.limit, q.offset),
    }),
    route<z.infer<typeof CreateRepositoryRequest>>({
      method: 'post', path: '/api/repositories', summary: 'Add a repository (`import: true`: an existing one); a generated password is returned once', access: 'admin',
      body: CreateRepositoryRequest, response: CreateRepositoryResponse, status: 201, creates: { path: '/api/repositories', pointer: '/repository/id' },
      handler: ({ actor, body }) => s.create(actor, body),
    }),
    route({
      method: 'get', path: '/api/repositories/:id', summary: 'One repository (no secrets)', access: 'viewer', response: RepositoryView,
      handler: ({ params }) => s.get(params.id ?? ''),
    }),
    route<z.infer<typeof UpdateRepositoryRequest>>({
      method: 'patch', path: '/api/repositories/:id', summary: 'Rename, replace credentials (whole), CA bundle or append-only; linked agents get config.update', access: 'admin',
      body: UpdateRepositoryRequest, response: RepositoryView,
      handler: ({ actor, params, body }) => s.update(actor, params.id ?? '', body),
    }),
    route({
      method: 'delete', path: '/api/repositories/:id', summary: 'Forget a repository (its data is not touched); 409 while a schedule targets it or a host uses it', access: 'admin',
      handler: ({ actor, params }) => s.delete(actor, params.id ?? ''),
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
      handler: ({ params }) => s.forHost(params.id ?? ''),
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
