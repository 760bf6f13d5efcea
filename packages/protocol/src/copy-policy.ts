import { z } from 'zod';
import { CronExpr, TimeZoneName } from './rest.js';

/*
 * Copy policies (3-2-1, issue 15, docs/copies.md): a `restic copy` of a host's snapshots from a
 * source repository into a target repository, after each backup or on a schedule. The target's
 * and the source's credentials never appear here: a policy names repositories by id.
 */

export const CopyMode = z.enum(['after_backup', 'schedule']);
export type CopyMode = z.infer<typeof CopyMode>;

const id = z.string().min(1).max(64);
const cron = CronExpr;
const timeZone = TimeZoneName;

/** `POST /api/copy-policies`. `host_id` absent or null: every host linked to the source repository. */
export const CreateCopyPolicyRequest = z
  .object({
    source_repository_id: id,
    target_repository_id: id,
    host_id: id.nullable().default(null),
    mode: CopyMode.default('after_backup'),
    /** Required for `schedule`, refused for `after_backup`. */
    cron_expr: cron.nullable().default(null),
    time_zone: timeZone.default('UTC'),
    enabled: z.boolean().default(true),
  })
  .strict();
export type CreateCopyPolicyRequest = z.infer<typeof CreateCopyPolicyRequest>;

/** `PATCH /api/copy-policies/{id}`: absent fields keep their value (the source cannot change). */
export const UpdateCopyPolicyRequest = z
  .object({
    target_repository_id: id.optional(),
    host_id: id.nullable().optional(),
    mode: CopyMode.optional(),
    cron_expr: cron.nullable().optional(),
    time_zone: timeZone.optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type UpdateCopyPolicyRequest = z.infer<typeof UpdateCopyPolicyRequest>;

/** The last copy of one policy for one host. */
export const CopyRunView = z.object({
  host_id: z.string(),
  last_copy_at: z.string().nullable(),
  last_copy_status: z.enum(['succeeded', 'failed', 'cancelled']).nullable(),
  last_success_at: z.string().nullable(),
  last_error: z.string().nullable(),
  last_job_id: z.string().nullable(),
});
export type CopyRunView = z.infer<typeof CopyRunView>;

export const CopyPolicyView = z.object({
  id: z.string(),
  source_repository_id: z.string(),
  target_repository_id: z.string(),
  /** null: every host linked to the source repository. */
  host_id: z.string().nullable(),
  mode: CopyMode,
  cron_expr: z.string().nullable(),
  time_zone: z.string(),
  enabled: z.boolean(),
  /** The target is on another backend than the source, or on another host (docs/copies.md). */
  offsite: z.boolean(),
  runs: z.array(CopyRunView),
  created_at: z.string(),
  updated_at: z.string(),
});
export type CopyPolicyView = z.infer<typeof CopyPolicyView>;

/** `POST /api/copy-policies/{id}/run`: queue a copy now (one host, or every host of the policy). */
export const RunCopyPolicyRequest = z.object({ host_id: id.optional() }).strict();
export const RunCopyPolicyResponse = z.object({ job_ids: z.array(z.string()) });

export const CopyState = z.enum(['up_to_date', 'behind', 'failing', 'never']);
export type CopyState = z.infer<typeof CopyState>;

/** One policy's 3-2-1 state for one host. */
export const HostCopyStatusItem = z.object({
  policy_id: z.string(),
  source_repository_id: z.string(),
  target_repository_id: z.string(),
  state: CopyState,
  offsite: z.boolean(),
  last_backup_at: z.string().nullable(),
  last_copy_at: z.string().nullable(),
  last_success_at: z.string().nullable(),
  last_error: z.string().nullable(),
});
export type HostCopyStatusItem = z.infer<typeof HostCopyStatusItem>;

/** `GET /api/hosts/{id}/copy-status`: the host's 3-2-1 status. */
export const HostCopyStatus = z.object({
  host_id: z.string(),
  /** The worst state of its policies; `none` when no policy touches the host. */
  state: z.enum(['up_to_date', 'behind', 'failing', 'never', 'none']),
  /** At least one copy target is off-site. */
  offsite: z.boolean(),
  items: z.array(HostCopyStatusItem),
});
export type HostCopyStatus = z.infer<typeof HostCopyStatus>;
