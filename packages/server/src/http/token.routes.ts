import { z } from 'zod';
import { ApiTokenView, CreateApiTokenRequest, CreateApiTokenResponse, CreateServiceAccountRequest, UserView } from '@restic-manager/protocol';
import { userView } from '../services/auth.service.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

const TokenList = z.object({ items: z.array(ApiTokenView) });

/**
 * API tokens and service accounts (issue 21, docs/server.md "API tokens"). Session-only: a token
 * cannot create, list or revoke tokens (a leaked token must not be able to mint a longer-lived one).
 */
export function tokenRoutes(d: RouteDeps): RouteSpec[] {
  const t = d.services.tokens;
  return [
    route({
      method: 'get', path: '/api/tokens', summary: 'Your API tokens (no secrets), newest first', access: 'viewer', bearer: false, response: TokenList,
      handler: async ({ actor, session }) => ({ items: await t.list(actor, session.user.id) }),
    }),
    route<z.infer<typeof CreateApiTokenRequest>>({
      method: 'post', path: '/api/tokens', summary: 'Create an API token for yourself; the secret is in this answer only', access: 'viewer', bearer: false,
      body: CreateApiTokenRequest, response: CreateApiTokenResponse, status: 201,
      handler: ({ actor, session, body }) => t.create(actor, session.user.id, body),
    }),
    route({
      method: 'delete', path: '/api/tokens/:id', summary: 'Revoke an API token (your own; an admin: any)', access: 'viewer', bearer: false, response: ApiTokenView,
      handler: ({ actor, params }) => t.revoke(actor, params.id ?? ''),
    }),
    route<z.infer<typeof CreateServiceAccountRequest>>({
      method: 'post', path: '/api/service-accounts', summary: 'Create a service account (no password; acts only through tokens an admin creates for it)', access: 'admin', bearer: false,
      body: CreateServiceAccountRequest, response: UserView, status: 201, creates: { path: '/api/users/:id', pointer: '/id' },
      handler: async ({ actor, body }) => userView(await t.createServiceAccount(actor, body)),
    }),
    route({
      method: 'get', path: '/api/users/:id/api-tokens', summary: "An account's API tokens (admin)", access: 'admin', bearer: false, response: TokenList,
      handler: async ({ actor, params }) => ({ items: await t.list(actor, params.id ?? '') }),
    }),
    route<z.infer<typeof CreateApiTokenRequest>>({
      method: 'post', path: '/api/users/:id/api-tokens', summary: 'Create an API token for a service account (admin); the secret is in this answer only', access: 'admin', bearer: false,
      body: CreateApiTokenRequest, response: CreateApiTokenResponse, status: 201,
      handler: ({ actor, params, body }) => t.create(actor, params.id ?? '', body),
    }),
  ];
}
