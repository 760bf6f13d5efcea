import type { z } from 'zod';
import { PageQuery, page } from '@restic-manager/protocol';
import type { Access } from './route.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';
import type { Actor } from '../services/context.js';

/** What the five routes of crudRoutes call: one service method each. */
export interface CrudService<C, U> {
  list(limit: number, offset: number): Promise<unknown>;
  get(id: string): Promise<unknown>;
  create(actor: Actor, body: C): Promise<unknown>;
  update(actor: Actor, id: string, body: U): Promise<unknown>;
  delete(actor: Actor, id: string): Promise<void>;
}

/** One collection resource at `path`: its schemas, who writes it and what each route says it does. */
export interface CrudResource<C, U> {
  path: string;
  service: CrudService<C, U>;
  view: z.ZodType;
  /** Who may create, change and delete (everyone signed in reads). */
  writer: Access;
  create: { body: z.ZodType<C>; response: z.ZodType; pointer: string; summary: string };
  update: { body: z.ZodType<U>; summary: string };
  summaries: { list: string; get: string; delete: string };
}

/**
 * GET <path> (a page), POST <path> (201, linked for OpenAPI by `create.pointer`), and GET, PATCH,
 * DELETE <path>/:id: the routes every admin-managed collection has, each calling its service method.
 */
export function crudRoutes<C, U>(r: CrudResource<C, U>): RouteSpec[] {
  const s = r.service;
  return [
    route<undefined, z.infer<typeof PageQuery>>({
      method: 'get', path: r.path, summary: r.summaries.list, access: 'viewer',
      query: PageQuery, response: page(r.view),
      handler: ({ query: q }) => s.list(q.limit, q.offset),
    }),
    route<C>({
      method: 'post', path: r.path, summary: r.create.summary, access: r.writer,
      body: r.create.body, response: r.create.response, status: 201, creates: { path: r.path, pointer: r.create.pointer },
      handler: ({ actor, body }) => s.create(actor, body),
    }),
    route({
      method: 'get', path: `${r.path}/:id`, summary: r.summaries.get, access: 'viewer', response: r.view,
      handler: ({ params }) => s.get(params.id ?? ''),
    }),
    route<U>({
      method: 'patch', path: `${r.path}/:id`, summary: r.update.summary, access: r.writer,
      body: r.update.body, response: r.view,
      handler: ({ actor, params, body }) => s.update(actor, params.id ?? '', body),
    }),
    route({
      method: 'delete', path: `${r.path}/:id`, summary: r.summaries.delete, access: r.writer,
      handler: ({ actor, params }) => s.delete(actor, params.id ?? ''),
    }),
  ];
}
