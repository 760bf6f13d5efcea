import { z } from 'zod';
import { CronExpr, TimeZoneName } from './rest.js';
import { AgeRecipientInput } from './vault.js';

/*
 * The control plane's own backup on a schedule (Settings → Control-plane backup, issue 20,
 * docs/operations.md): the same backup as `restic-manager server backup`, fired by the server
 * into one of its Repository objects. The repository's password and keys stay in that object
 * (sealed); nothing here carries a secret.
 */

/** `PUT /api/settings/control-plane-backup`: the whole setting (absent fields take their default). */
export const ControlPlaneBackupSettings = z
  .object({
    enabled: z.boolean().default(false),
    /** When the server fires it (croner syntax, in `time_zone`). */
    cron_expr: CronExpr.default('0 3 * * *'),
    time_zone: TimeZoneName.default('UTC'),
    /** A repository from /api/repositories (restic format, a backend the server can reach); null = none yet (then `enabled` must be false). */
    repository_id: z.string().min(1).max(64).nullable().default(null),
    /** age recipients the files are encrypted to first; empty = plain inside the restic repository. */
    recipients: z.array(AgeRecipientInput).max(8, 'at most 8 recipients').default([]),
    /** false = the secret key is left out (like `server backup --without-key`): restore then needs the recovery kit. */
    include_key: z.boolean().default(true),
  })
  .strict();
export type ControlPlaneBackupSettings = z.infer<typeof ControlPlaneBackupSettings>;

export const ControlPlaneBackupStatus = z.enum(['succeeded', 'failed']);
export type ControlPlaneBackupStatus = z.infer<typeof ControlPlaneBackupStatus>;

/** The last control-plane backup this server (or another process on its database) ran. */
export const ControlPlaneBackupRun = z.object({
  started_at: z.string(),
  finished_at: z.string(),
  status: ControlPlaneBackupStatus,
  trigger: z.enum(['schedule', 'manual']),
  /** restic's snapshot id (succeeded only). */
  snapshot_id: z.string().nullable(),
  /** What went wrong (failed only), with no secret in it. */
  error: z.string().nullable(),
  duration_ms: z.number().int().nonnegative(),
});
export type ControlPlaneBackupRun = z.infer<typeof ControlPlaneBackupRun>;

/** `GET /api/settings/control-plane-backup` (and the answer of PUT and of run). */
export const ControlPlaneBackupView = z.object({
  enabled: z.boolean(),
  cron_expr: z.string(),
  time_zone: z.string(),
  repository_id: z.string().nullable(),
  /** The repository's name (null: none chosen, or it was deleted). */
  repository_name: z.string().nullable(),
  recipients: z.array(z.string()),
  include_key: z.boolean(),
  /** The next fire time while enabled. */
  next_run_at: z.string().nullable(),
  /** A backup is running now (started at this time). */
  running_since: z.string().nullable(),
  last_run: ControlPlaneBackupRun.nullable(),
  /** The last successful run's time (a failure after it does not clear it). */
  last_success_at: z.string().nullable(),
  updated_at: z.string().nullable(),
});
export type ControlPlaneBackupView = z.infer<typeof ControlPlaneBackupView>;
