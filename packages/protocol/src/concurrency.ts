import { z } from 'zod';
import type { JobKind } from './common.js';
import { backendOfUrl } from './repository.js';

/*
 * Concurrency caps (issue 21, docs/schedules.md "Concurrency caps", decision 0013): at most
 * `max_jobs` jobs at once fleet-wide, per host tag, or per repository backend (one S3
 * endpoint/bucket, one REST server, …). The server owns the slots; a job that finds no free slot
 * waits in the server's queue ("waiting for a slot: N ahead").
 */

export const CAP_SCOPES = ['fleet', 'tag', 'backend'] as const;
export const CapScope = z.enum(CAP_SCOPES);
export type CapScope = z.infer<typeof CapScope>;

/** The largest cap an admin may set. */
export const MAX_CAP_JOBS = 1000;

/** Job kinds a cap counts and holds back: the routine work against a repository (restores and requests never wait). */
export const CAPPED_KINDS: ReadonlySet<JobKind> = new Set<JobKind>(['backup', 'check', 'forget', 'prune', 'copy']);

// eslint-disable-next-line no-control-regex -- NUL is refused on purpose; \x00 (not \0) so the OpenAPI pattern works in every regex engine
const capKey = z.string().max(300).regex(/^[^\r\n\x00]*$/, 'one line, no NUL');

/** One cap as an admin writes it. `key`: '' for fleet, a host tag for tag, a backend key (`backendKeyOfUrl`) for backend. */
export const CapInput = z
  .object({
    scope: CapScope,
    key: capKey.default(''),
    max_jobs: z.number({ error: 'a positive integer no greater than 1000' }).int('a positive integer no greater than 1000').min(1, 'a positive integer no greater than 1000').max(MAX_CAP_JOBS, 'a positive integer no greater than 1000'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.scope === 'fleet' && c.key !== '') ctx.addIssue({ code: 'custom', path: ['key'], message: 'a fleet-wide cap has no key (leave it empty)' });
    if (c.scope === 'tag' && !/^[A-Za-z0-9_.:-]{1,64}$/.test(c.key)) ctx.addIssue({ code: 'custom', path: ['key'], message: 'a host tag: letters, digits and _ . : -' });
    if (c.scope === 'backend' && c.key.length === 0) ctx.addIssue({ code: 'custom', path: ['key'], message: 'a backend key such as s3:s3.example.com/bucket or rest:backup.example.com:8000' });
  });
export type CapInput = z.infer<typeof CapInput>;

/** `PUT /api/caps`: replaces every cap (an empty list removes them all). One cap per (scope, key). */
export const PutCapsRequest = z
  .object({ caps: z.array(CapInput).max(200) })
  .strict()
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.caps.forEach((c, i) => {
      const k = capKeyOf(c.scope, c.key);
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: ['caps', i, 'key'], message: `a second cap for ${k}` });
      seen.add(k);
    });
  });
export type PutCapsRequest = z.infer<typeof PutCapsRequest>;

/** A cap as the API shows it. `known`: some host carries the tag / some repository has that backend key (an unknown one is kept, and shown as such). */
export const CapView = z.object({ scope: CapScope, key: z.string(), max_jobs: z.number().int(), known: z.boolean(), updated_at: z.string() });
export type CapView = z.infer<typeof CapView>;
export const CapList = z.object({ items: z.array(CapView), backend_keys: z.array(z.string()), tags: z.array(z.string()) });
export type CapList = z.infer<typeof CapList>;

/** A job in the queue view. `ahead` (waiting only): slot releases needed before it gets one. */
export const QueueJob = z.object({
  job_id: z.string(), host_id: z.string(), host_name: z.string(), kind: z.string(), since: z.string(),
  ahead: z.number().int().nonnegative().optional(),
});
export type QueueJob = z.infer<typeof QueueJob>;
export const QueueCap = z.object({ scope: CapScope, key: z.string(), max_jobs: z.number().int(), running: z.array(QueueJob), waiting: z.array(QueueJob) });
export type QueueCap = z.infer<typeof QueueCap>;
/** `GET /api/queue`: per cap, the jobs holding its slots and those waiting, in order. */
export const QueueView = z.object({ caps: z.array(QueueCap), waiting_total: z.number().int().nonnegative() });
export type QueueView = z.infer<typeof QueueView>;

/** The slot key a cap counts: `fleet`, `tag:<tag>`, `backend:<backend key>`. */
export function capKeyOf(scope: CapScope, key: string): string {
  return scope === 'fleet' ? 'fleet' : `${scope}:${key}`;
}

/**
 * The backend key of a restic location: its backend and the host it talks to (with the bucket
 * for S3, the bucket/container for B2/Azure/GCS, the remote for rclone), never credentials or the
 * repository path. Repositories sharing a key share a cap. null for a location restic would not accept.
 */
export function backendKeyOfUrl(url: string): string | null {
  const backend = backendOfUrl(url);
  if (!backend) return null;
  if (backend === 'local') return 'local';
  const rest = url.slice(url.indexOf(':') + 1);
  if (backend === 'rest' || backend === 's3' || backend === 'sftp') {
    const noScheme = rest.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^\/\//, '');
    const parts = noScheme.split('/');
    let authority = parts[0] ?? '';
    authority = authority.slice(authority.lastIndexOf('@') + 1);
    if (backend === 'sftp') authority = authority.split(':')[0] ?? authority;
    if (backend === 's3') return `s3:${authority.toLowerCase()}/${parts[1] ?? ''}`;
    return `${backend}:${authority.toLowerCase()}`;
  }
  // b2:bucket:path, azure:container:path, gs:bucket:path, rclone:remote:path
  return `${backend}:${rest.split(':')[0] ?? ''}`;
}

/**
 * Server -> agent (additive): the agent may start job `job_id`, which it reported as
 * `job.queued` with `awaiting_slot` (a scheduled job under a cap). Unknown job ids are ignored.
 */
export const SlotGrant = z.object({ type: z.literal('slot.grant'), job_id: z.string().min(1).max(64) });
export type SlotGrant = z.infer<typeof SlotGrant>;
