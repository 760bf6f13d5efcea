import { z } from 'zod';
import { BandwidthOptions, HostStatus, JobKind, JobStatus, RetentionPolicy, Role, ScheduleKind } from './common.js';
import { BackupArgs, CheckArgs, EmptyArgs, ForgetArgs, PruneArgs } from './server-messages.js';

/*
 * REST bodies and query strings of the browser -> server API (spec §6.1). The server validates
 * with these schemas and generates /api/openapi.json from them, so they are the contract.
 * Field names are snake_case on the wire.
 */

const id = z.string().min(1).max(64);
const isoDate = z.string().datetime({ offset: true });
const tagList = z.array(z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/, 'tags are letters, digits and _ . : -')).max(32);

/** `?limit=&offset=` — limit 1..500 (default 50). */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type PageQuery = z.infer<typeof PageQuery>;

/** Every list endpoint answers `{ items, total, limit, offset }`. */
export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

export const LoginRequest = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) }).strict();
export const UserView = z.object({ id, username: z.string(), role: Role, created_at: z.string(), last_login_at: z.string().nullable() });
export type UserView = z.infer<typeof UserView>;
export const LoginResponse = z.object({ user: UserView, csrf_token: z.string() });
export const CreateUserRequest = z
  .object({
    username: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.@-]+$/, 'letters, digits and _ . @ -'),
    password: z.string().min(12, 'at least 12 characters').max(1024),
    role: Role,
  })
  .strict();

/** Repository coordinates for a host. Credentials are never accepted inside the URL. */
export const RepositoryInput = z
  .object({
    url: z
      .string()
      .min(1)
      .max(2048)
      .refine((u) => !/^(rest:)?[a-z0-9+]+:\/\/[^/@]*@/i.test(u), 'put REST credentials in rest_username/rest_password, not in the URL'),
    /** restic repository password; generated (24 random bytes, URL-safe) and returned once when absent. */
    password: z.string().min(8).max(1024).optional(),
    rest_username: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/).optional(),
    /** REST-server (htpasswd) password; generated when rest_username is set and this is absent. */
    rest_password: z.string().min(8).max(1024).optional(),
    append_only: z.boolean().default(true),
  })
  .strict();
export type RepositoryInput = z.infer<typeof RepositoryInput>;

export const CreateHostRequest = z.object({ name: z.string().min(1).max(128), tags: tagList.default([]), repository: RepositoryInput }).strict();
export const RegenerateTokenRequest = z.object({ repository: RepositoryInput.optional() }).strict();

/** Returned once, when a host is added or its enrollment token regenerated. */
export const EnrollmentTokenResponse = z.object({
  host_id: id,
  token: z.string(),
  expires_at: z.string(),
  install_command: z.string(),
  /** Present only when the server generated the repo password. Shown once, never again. */
  generated_password: z.string().optional(),
  generated_rest_password: z.string().optional(),
  /** `echo '<pass>' | htpasswd -B -i <file> <user>` for the REST server, when a REST user is set. */
  htpasswd_line: z.string().optional(),
});

export const EnrollRequest = z
  .object({
    token: z.string().min(1).max(256),
    hostname: z.string().min(1).max(255),
    os: z.string().max(64).default(''),
    arch: z.string().max(64).default(''),
    agent_version: z.string().max(64).default(''),
    restic_version: z.string().max(64).nullable().default(null),
  })
  .strict();
export const EnrollResponse = z.object({
  host_id: id,
  /** Long-lived agent credential for `Authorization: Bearer`; stored hashed by the server. */
  bearer_token: z.string(),
  server_url: z.string(),
  ws_url: z.string(),
  protocol_version: z.number().int(),
});

export const HostView = z.object({
  id,
  name: z.string(),
  hostname: z.string().nullable(),
  os: z.string().nullable(),
  arch: z.string().nullable(),
  agent_version: z.string().nullable(),
  restic_version: z.string().nullable(),
  protocol_version: z.number().int().nullable(),
  enrolled_at: z.string().nullable(),
  last_seen_at: z.string().nullable(),
  status: HostStatus,
  repo_id: z.string().nullable(),
  tags: z.array(z.string()),
  current_job_id: z.string().nullable(),
  last_backup_at: z.string().nullable(),
  last_backup_status: z.enum(['succeeded', 'failed', 'cancelled']).nullable(),
  repo_size_bytes: z.number().nullable(),
  snapshot_count: z.number().int().nullable(),
  open_alert_count: z.number().int(),
  schedule_version: z.number().int(),
  applied_schedule_version: z.number().int().nullable(),
  repo_initialised_at: z.string().nullable(),
  /** The host's IANA time zone (set by an operator): default zone of its schedules and the cron preview; null = unset. */
  time_zone: z.string().nullable().optional(),
});
export type HostView = z.infer<typeof HostView>;

/** An IANA time zone name the runtime knows (`Europe/Berlin`, `UTC`). */
export const TimeZoneName = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'unknown time zone: use an IANA name such as Europe/Berlin or UTC');
/** `PUT /api/hosts/:id/time-zone`: null clears it (schedules then use the agent's local zone). */
export const HostTimeZoneRequest = z.object({ time_zone: TimeZoneName.nullable() }).strict();
export const HostListQuery = PageQuery.extend({ tag: z.string().max(64).optional(), status: HostStatus.optional() });

export const RepoView = z.object({
  id,
  name: z.string(),
  url: z.string(),
  kind: z.enum(['rest', 's3', 'local', 'other']),
  size_bytes: z.number().nullable(),
  snapshot_count: z.number().int().nullable(),
  dedup_ratio: z.number().nullable(),
  last_check_at: z.string().nullable(),
  last_check_status: z.string().nullable(),
  lock_state: z.string().nullable(),
  append_only: z.boolean(),
  credential_rotated_at: z.string().nullable(),
  /** Says whether a password / REST credential is stored — never the value. */
  has_password: z.boolean(),
  rest_username: z.string().nullable(),
});

export const SnapshotView = z.object({
  id: z.string(),
  short_id: z.string(),
  host_id: id,
  repo_id: z.string().nullable(),
  time: z.string(),
  hostname: z.string(),
  paths: z.array(z.string()),
  tags: z.array(z.string()),
  size_bytes: z.number().nullable(),
  file_count: z.number().nullable(),
});
export const SnapshotQuery = PageQuery.extend({
  tag: z.string().max(64).optional(),
  path: z.string().max(4096).optional(),
  since: isoDate.optional(),
  until: isoDate.optional(),
});

/**
 * Run-now body: `kind` picks the argument schema, so the OpenAPI document lists every kind's
 * arguments (bandwidth limits included) and a bad argument fails as `args.<field>`.
 */
const runKind = <K extends string, A extends z.ZodType>(kind: K, args: A) => z.object({ kind: z.literal(kind), args }).strict();
export const RunJobRequest = z.discriminatedUnion('kind', [
  runKind('backup', BackupArgs),
  runKind('forget', ForgetArgs),
  runKind('prune', PruneArgs.default({})),
  runKind('check', CheckArgs.default({})),
  ...(['init', 'unlock', 'snapshots', 'stats', 'diff'] as const).map((k) => runKind(k, EmptyArgs.default({}))),
]);
const absPath = z.string().min(1).max(4096).regex(/^\//, 'must be an absolute path');
/**
 * Restore wizard submit (`POST /api/hosts/:id/restore`, `:id` = the TARGET host).
 * - `source_host_id`: whose snapshot (default: the target itself = same-host restore).
 * - `restore_to`: `directory` (default) restores under `target` (`<target>/<original path>`);
 *   `original` restores in place (`target` must then be absent). restic overwrites existing files.
 * - `include`: the selected paths (empty = the whole snapshot).
 * - `remap`: `from` subtrees land exactly at `to` instead (e.g. /home/alice -> /home/alice-new).
 */
export const RestoreRequest = z
  .object({
    source_host_id: id.optional(),
    snapshot_id: z.string().min(1).max(64).regex(/^[0-9a-f]+$/, 'a snapshot id is hex digits'),
    restore_to: z.enum(['original', 'directory']).default('directory'),
    target: absPath.optional(),
    include: z.array(absPath).max(1000).default([]),
    exclude: z.array(z.string().max(4096)).max(1000).default([]),
    remap: z.array(z.object({ from: absPath, to: absPath }).strict()).max(32).default([]),
    verify: z.boolean().default(false),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.restore_to === 'directory' && !b.target) ctx.addIssue({ code: 'custom', path: ['target'], message: 'an alternate directory restore needs target (an absolute path)' });
    if (b.restore_to === 'original' && b.target) ctx.addIssue({ code: 'custom', path: ['target'], message: 'leave target out when restoring to the original location' });
    if (b.restore_to === 'directory' && b.target === '/') ctx.addIssue({ code: 'custom', path: ['target'], message: 'target / is the original location: use restore_to "original"' });
  });
export type RestoreRequest = z.infer<typeof RestoreRequest>;

/** `GET /api/hosts/:id/snapshots/:snapshot_id/ls` */
export const SnapshotLsQuery = z.object({
  path: z.string().min(1).max(4096).regex(/^\//, 'path must be absolute').default('/'),
  limit: z.coerce.number().int().min(1).max(500).default(200),
  offset: z.coerce.number().int().min(0).default(0),
});
export const SnapshotLsView = z.object({
  snapshot_id: z.string(),
  path: z.string(),
  entries: z.array(z.object({
    name: z.string(), path: z.string(), type: z.string(), size: z.number().nullable(), mtime: z.string().nullable(), mode: z.number().nullable(),
  })),
  limit: z.number().int(),
  offset: z.number().int(),
  has_more: z.boolean(),
});

export const JobView = z.object({
  id,
  host_id: id,
  kind: JobKind,
  status: JobStatus,
  schedule_id: z.string().nullable(),
  actor_kind: z.enum(['user', 'schedule', 'system']),
  actor_id: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  stats: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  error_kind: z.string().nullable(),
  progress: z.record(z.string(), z.unknown()).nullable(),
});
export type JobView = z.infer<typeof JobView>;
export const JobListQuery = PageQuery.extend({
  host_id: id.optional(),
  kind: JobKind.optional(),
  status: JobStatus.optional(),
  since: isoDate.optional(),
  until: isoDate.optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});
export const JobLogQuery = z.object({
  after_seq: z.coerce.number().int().min(-1).default(-1),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
export const JobLogView = z.object({ job_id: id, seq: z.number().int(), ts: z.string(), stream: z.enum(['stdout', 'stderr', 'event']), payload: z.string() });

export const ScheduleInput = z
  .object({
    kind: ScheduleKind,
    cron_expr: z.string().min(1).max(128),
    time_zone: z.string().max(64).nullable().default(null),
    enabled: z.boolean().default(true),
    paths: z.array(z.string().min(1).max(4096)).max(1000).default([]),
    excludes: z.array(z.string().max(4096)).max(1000).default([]),
    tags: tagList.default([]),
    retention_policy: RetentionPolicy.nullable().default(null),
    options: BandwidthOptions.default({}),
    pre_hook: z.string().max(8192).nullable().default(null),
    post_hook: z.string().max(8192).nullable().default(null),
    run_as: z.string().max(64).nullable().default(null),
  })
  .strict();
export type ScheduleInput = z.infer<typeof ScheduleInput>;
export const ScheduleView = z.object({
  id,
  host_id: id,
  kind: ScheduleKind,
  cron_expr: z.string(),
  time_zone: z.string().nullable(),
  enabled: z.boolean(),
  paths: z.array(z.string()),
  excludes: z.array(z.string()),
  tags: z.array(z.string()),
  retention_policy: z.record(z.string(), z.unknown()).nullable(),
  options: BandwidthOptions,
  /** Hooks are secret-bearing (§14.3): the API only says whether one is set. */
  has_pre_hook: z.boolean(),
  has_post_hook: z.boolean(),
  run_as: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const AlertView = z.object({
  id,
  host_id: z.string().nullable(),
  kind: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  message: z.string(),
  created_at: z.string(),
  acknowledged_at: z.string().nullable(),
  resolved_at: z.string().nullable(),
});
export const AlertListQuery = PageQuery.extend({ host_id: id.optional(), open: z.enum(['true', 'false']).optional() });

export const AuditView = z.object({
  id: z.number().int(),
  user_id: z.string().nullable(),
  actor: z.enum(['user', 'agent', 'system']),
  actor_name: z.string().nullable(),
  action: z.string(),
  target_kind: z.string().nullable(),
  target_id: z.string().nullable(),
  ts: z.string(),
  payload: z.record(z.string(), z.unknown()),
});
export const AuditQuery = PageQuery.extend({
  actor: z.enum(['user', 'agent', 'system']).optional(),
  user_id: id.optional(),
  action: z.string().max(64).optional(),
  target_kind: z.string().max(32).optional(),
  target_id: z.string().max(64).optional(),
  since: isoDate.optional(),
  until: isoDate.optional(),
});

export const FleetSummary = z.object({
  hosts_total: z.number().int(),
  hosts_by_status: z.record(z.string(), z.number().int()),
  total_repo_bytes: z.number(),
  open_alerts: z.number().int(),
  running_jobs: z.number().int(),
});

export const AgentUpdateRequest = z.object({ version: z.string().min(1).max(64), url: z.string().url().max(2048) }).strict();
