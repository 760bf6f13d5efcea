import { z } from 'zod';


export const JobKind = z.enum([
  'init', 'backup', 'forget', 'prune', 'check', 'unlock', 'snapshots', 'stats', 'diff', 'restore',
  // Additive: vault jobs (vault.ts). Older agents do not know them; the server sends them only to
  // agents whose hello.features include 'vault'.
  'vault_backup', 'vault_snapshots', 'vault_prune', 'vault_check',
  // Additive: a database dump restored into a database server (db-restore.ts). Sent only to
  // agents whose hello.features include 'db_restore'.
  'db_restore',
  // Additive (issue 15): snapshots copied from the job's repository to command.run.copy_target
  // (repository.ts CopyArgs). Sent only to agents whose hello.features include 'copy'.
  'copy',
  // Additive (issue 16): a sample of the latest snapshot restored into a scratch directory and
  // verified (restore-drill.ts RestoreDrillArgs). Sent only to agents whose hello.features include 'restore_drill'.
  'restore_drill',
  // Additive (issue 16): a restore drill of another host's vault target on a host trusted for vault
  // drills, which holds the age identity (vault-drill.ts VaultDrillArgs). Sent only to agents whose
  // hello.features include 'vault_drill'.
  'vault_drill',
]);
export type JobKind = z.infer<typeof JobKind>;

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];
export const isTerminal = (s: JobStatus): boolean => TERMINAL_JOB_STATUSES.includes(s);

/** Additive: vault_backup / vault_prune are fired by the server (never in schedule.set). */
/** The jobs the host page's Maintenance card runs now (web form `kind`). */
export const MaintenanceJobKind = z.enum(['forget', 'prune', 'check', 'unlock']);
export type MaintenanceJobKind = z.infer<typeof MaintenanceJobKind>;
export const ScheduleKind = z.enum(['backup', 'forget', 'prune', 'check', 'vault_backup', 'vault_prune', 'restore_drill']);
export type ScheduleKind = z.infer<typeof ScheduleKind>;

export const HostStatus = z.enum(['online', 'offline', 'degraded', 'pending']);
export type HostStatus = z.infer<typeof HostStatus>;

export const Role = z.enum(['admin', 'operator', 'viewer']);
export type Role = z.infer<typeof Role>;

/** Machine-readable failure kinds, shared by engines, agent reports and the API. */
export const ErrorKind = z.enum([
  'partial', 'no_repository', 'lock_failed', 'wrong_password', 'interrupted', 'timeout',
  'not_installed', 'failed', 'hook_failed', 'no_credentials', 'agent_lost', 'cancelled',
]);
export type ErrorKind = z.infer<typeof ErrorKind>;

const nonNegInt = z.number().int().nonnegative();
const keep = nonNegInt.optional();

/** restic retention policy (spec §5 Schedule.retention_policy). */
export const RetentionPolicy = z
  .object({
    keep_last: keep,
    keep_hourly: keep,
    keep_daily: keep,
    keep_weekly: keep,
    keep_monthly: keep,
    keep_yearly: keep,
    /** restic duration, e.g. `2y5m7d3h`. */
    keep_within: z.string().regex(/^(\d+[ymdh])+$/, 'expected a duration like 30d or 1y6m').optional(),
    keep_tag: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .refine(
    (p) => Object.values(p).some((v) => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== 0)),
    'a retention policy must keep something (refusing to forget every snapshot)',
  );
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

const kibPerSecond = z
  .number({ error: 'expected a whole number of KiB/s' })
  .int('expected a whole number of KiB/s')
  .positive('a limit must be at least 1 KiB/s (leave it out for no limit)');

/** Bandwidth limits in KiB/s (spec §14.2). */
export const BandwidthOptions = z
  .object({
    limit_upload_kbps: kibPerSecond.describe('upload limit in KiB/s (restic --limit-upload)').optional(),
    limit_download_kbps: kibPerSecond.describe('download limit in KiB/s (restic --limit-download)').optional(),
  })
  .strict();
export type BandwidthOptions = z.infer<typeof BandwidthOptions>;

/** A snapshot as reported by the agent (projection of `restic snapshots --json`). */
export const SnapshotInfo = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  short_id: z.string().optional(),
  time: z.string(),
  hostname: z.string(),
  username: z.string().optional(),
  paths: z.array(z.string()),
  tags: z.array(z.string()).default([]),
  parent: z.string().optional(),
  tree: z.string().optional(),
  size_bytes: nonNegInt.nullable().optional(),
  file_count: nonNegInt.nullable().optional(),
});
export type SnapshotInfo = z.infer<typeof SnapshotInfo>;

/** Error body of every failed REST call: `{ "error": { "code", "message" } }`. */
export const ApiError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    /** Field-level validation issues (path joined with '.'), when the input failed a schema. */
    fields: z.record(z.string(), z.string()).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;
