import { z } from 'zod';
import { WindowSetSchema } from './window-schemas.js';
import { BandwidthOptions, HostStatus, JobKind, JobStatus, RetentionPolicy, Role, ScheduleKind } from './common.js';
import { BackupArgs, CheckArgs, DatabaseTarget, ReadDataSubset, DatabaseTargetFields, EmptyArgs, ForgetArgs, PruneArgs } from './server-messages.js';
import { StopContainersEntry } from './container-select.js';
import { MessageTemplate } from './message-template.js';
import { VaultBackupArgs, VaultCheckArgs, VaultPruneArgs, VaultSnapshotsArgs } from './vault.js';
import { normalisePath, pathProblem } from './restore-plan.js';
import { APPEND_ONLY_REFUSED, appendOnlyEnforceable } from './append-only.js';
import { RepoLockState, RepoLockView } from './locks.js';

/*
 * REST bodies and query strings of the browser -> server API (spec §6.1). The server validates
 * with these schemas and generates /api/openapi.json from them, so they are the contract.
 * Field names are snake_case on the wire.
 */

const id = z.string().min(1).max(64);
const isoDate = z.string().datetime({ offset: true });
/** Host tags: the one schema for every place a host's tags are written (API, web, enrollment). */
export const TagList = z.array(z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/, 'tags are letters, digits and _ . : -')).max(32);
const tagList = TagList;

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
/**
 * A user's host-tag scope (issue 21, docs/server.md "Roles and scopes"): null = every host; else
 * the user sees and acts only on hosts carrying at least one of these tags. Admins are never scoped.
 */
export const UserScopeTags = TagList.min(1, 'list at least one tag, or send null for every host');
export const UserView = z.object({
  id, username: z.string(), role: Role, created_at: z.string(), last_login_at: z.string().nullable(), auth_method: z.enum(['password', 'oidc', 'service']),
  scope_tags: z.array(z.string()).nullable(),
});
export type UserView = z.infer<typeof UserView>;
export const LoginResponse = z.object({ user: UserView, csrf_token: z.string() });
export const CreateUserRequest = z
  .object({
    username: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.@-]+$/, 'letters, digits and _ . @ -'),
    password: z.string().min(12, 'at least 12 characters').max(1024),
    role: Role,
    /** Absent or null: every host. Refused for the admin role. */
    scope_tags: UserScopeTags.nullable().optional(),
  })
  .strict();
/** `PUT /api/users/:id/scope`: null clears the scope (every host). */
export const SetUserScopeRequest = z.object({ scope_tags: UserScopeTags.nullable() }).strict();
export type SetUserScopeRequest = z.infer<typeof SetUserScopeRequest>;

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
    /**
     * Offered only where the backend enforces it (a `rest:` URL); true is refused elsewhere.
     * Absent: on for a REST URL with a REST user, off otherwise (appendOnlyDefault).
     */
    append_only: z.boolean().optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.append_only && !appendOnlyEnforceable(r.url)) ctx.addIssue({ code: 'custom', path: ['append_only'], message: APPEND_ONLY_REFUSED });
  });
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
export type EnrollmentTokenResponse = z.infer<typeof EnrollmentTokenResponse>;

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
  /** The last vault backup (another target than the restic repository; decision server-0008). */
  last_vault_backup_at: z.string().nullable(),
  last_vault_backup_status: z.enum(['succeeded', 'failed', 'cancelled']).nullable(),
  repo_size_bytes: z.number().nullable(),
  snapshot_count: z.number().int().nullable(),
  open_alert_count: z.number().int(),
  schedule_version: z.number().int(),
  applied_schedule_version: z.number().int().nullable(),
  repo_initialised_at: z.string().nullable(),
  /** The host's IANA time zone (set by an operator): default zone of its schedules and the cron preview; null = unset. */
  time_zone: z.string().nullable().optional(),
  /**
   * Set when an admin's one-off cross-host restore sent this host's permanent repository
   * credential to another agent: rotate it (PUT /api/hosts/:id/credentials), which clears this.
   */
  credential_rotation: z.object({ since: z.string(), reason: z.string() }).nullable().optional(),
  /** The agent's version against the server's (docs/server.md "Agent versions"). */
  agent_version_status: z
    .object({
      state: z.enum(['current', 'behind', 'major_behind', 'ahead', 'unknown']),
      behind: z.number().int(),
      unit: z.enum(['major', 'minor', 'patch', 'prerelease']).nullable(),
      label: z.string(),
    })
    .optional(),
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
  }, 'unknown time zone: use an IANA name such as Europe/Berlin or UTC')
  .meta({ description: 'an IANA time zone name', examples: ['Europe/Berlin', 'UTC'] });
/** `PUT /api/hosts/:id/time-zone`: null clears it (schedules then use the agent's local zone). */
/** `PUT /api/hosts/:id/tags`: replaces the host's tags. */
export const SetHostTagsRequest = z.object({ tags: TagList }).strict();
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
  /** `locked` (a live lock), `stale` (only stale locks), `unlocked`, or null before the first listing. */
  lock_state: RepoLockState.nullable(),
  /** The locks of the last listing (after every job), each with holder, age and whether it is stale. */
  locks: z.array(RepoLockView),
  /** When the agent last listed the locks (null: never). */
  locks_listed_at: z.string().nullable(),
  /** Deletes with the routine credential are refused: flagged append-only and a REST server enforces it. */
  append_only: z.boolean(),
  credential_rotated_at: z.string().nullable(),
  /** Says whether a password / REST credential is stored — never the value. */
  has_password: z.boolean(),
  rest_username: z.string().nullable(),
});
export type RepoView = z.infer<typeof RepoView>;

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
export type SnapshotView = z.infer<typeof SnapshotView>;

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
const runKind = <K extends string, A extends z.ZodType>(kind: K, args: A) =>
  z.object({
    kind: z.literal(kind), args,
    /** Additive (issue 15): run against this linked repository instead of the host's primary. */
    repository_id: z.string().min(1).max(64).optional(),
  }).strict();
export const RunJobRequest = z.discriminatedUnion('kind', [
  runKind('backup', BackupArgs),
  runKind('forget', ForgetArgs),
  runKind('prune', PruneArgs.default({})),
  runKind('check', CheckArgs.default({})),
  ...(['init', 'unlock', 'snapshots', 'stats', 'diff'] as const).map((k) => runKind(k, EmptyArgs.default({}))),
  runKind('vault_backup', VaultBackupArgs),
  runKind('vault_snapshots', VaultSnapshotsArgs.default({})),
  runKind('vault_prune', VaultPruneArgs.default({})),
  runKind('vault_check', VaultCheckArgs.default({ read_data: false })),
]);
const absPath = z.string().min(1).max(4096).regex(/^\//, 'must be an absolute path');
/**
 * Restore wizard submit (`POST /api/hosts/:id/restore`, `:id` = the TARGET host).
 * - `source_host_id`: whose snapshot (default: the target itself = same-host restore).
 * - `restore_to`: `directory` (default) restores under `target` (`<target>/<original path>`); the
 *   target must be absolute and, once normalised, keep no `.` or `..` segment (400 naming `target`);
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
    /**
     * Cross-host only, admin only: when no temporary credential can be minted (source offline,
     * append-only without a maintenance credential, or a REST login the target does not share),
     * an admin confirms that the target agent receives the source host's permanent credential
     * for this one job. Audited as `restore.credential.permanent_shared`; the source host is then
     * marked "credential needs rotation" until its credentials are replaced.
     */
    share_source_credential: z.boolean().optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.restore_to === 'directory' && !b.target) ctx.addIssue({ code: 'custom', path: ['target'], message: 'an alternate directory restore needs target (an absolute path)' });
    if (b.restore_to === 'original' && b.target) ctx.addIssue({ code: 'custom', path: ['target'], message: 'leave target out when restoring to the original location' });
    const badTarget = b.target ? pathProblem(normalisePath(b.target)) : null;
    if (badTarget) ctx.addIssue({ code: 'custom', path: ['target'], message: `target ${badTarget}` });
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
export type JobLogView = z.infer<typeof JobLogView>;

/** A cron expression (croner syntax: five or six fields, or a nickname such as @daily); validated by the schedule service. */
export const CronExpr = z.string().min(1).max(128).meta({ description: 'five or six cron fields (croner syntax) or @hourly/@daily/@weekly/@monthly', examples: ['0 3 * * *', '*/15 * * * *'] });

export const ScheduleInput = z
  .object({
    kind: ScheduleKind,
    cron_expr: CronExpr,
    time_zone: z.string().max(64).nullable().default(null).meta({ description: 'an IANA time zone name; null = the host zone', examples: ['Europe/Berlin', null] }),
    enabled: z.boolean().default(true),
    paths: z.array(z.string().min(1).max(4096)).max(1000).default([]),
    excludes: z.array(z.string().max(4096)).max(1000).default([]),
    tags: tagList.default([]),
    retention_policy: RetentionPolicy.nullable().default(null),
    options: BandwidthOptions.default({}),
    pre_hook: z.string().max(8192).nullable().default(null),
    post_hook: z.string().max(8192).nullable().default(null),
    run_as: z.string().max(64).nullable().default(null),
    /**
     * Backup schedules: databases to dump, one snapshot each. On update, an entry without a
     * password keeps the stored password of the entry at the same position when engine, host,
     * port and user are unchanged (the form never shows stored passwords).
     */
    databases: z.array(DatabaseTarget).max(64).default([]),
    /** Additive (issue 15): the repository the schedule targets, linked to the host; null/absent = the host's primary. */
    repository_id: z.string().min(1).max(64).nullable().optional(),
    /** Check schedules (issue 22): a fixed `--read-data-subset`; null/absent = rotate (below). */
    read_data_subset: ReadDataSubset.nullable().optional(),
    /** Check schedules: read part n of t each run (t checks read everything); 0 = structure only; null/absent = 10. */
    read_data_rotation: z.number().int().min(0).max(1000).nullable().optional(),
    /** Additive (issue 16), restore_drill schedules: the enrolled host the sample is restored on; null/absent = the host itself. */
    drill_host_id: z.string().min(1).max(64).nullable().optional(),
    /**
     * Additive (issue 21): a Healthchecks-style ping URL (docs/alerts.md "Dead-man's switch"): `<url>/start`
     * when a run starts, `<url>` on success, `<url>/fail` on failure. A secret: sealed, shown only as
     * has_healthcheck_url; a string sets it, null clears it, absent keeps it.
     */
    healthcheck_url: z.string().max(2048).url('expected a URL such as https://hc-ping.com/<uuid>').refine((u) => /^https?:\/\//i.test(u), 'only http:// and https:// URLs').nullable().optional(),
    /**
     * Backup schedules (issue 18): containers stopped in this order before the backup, started again
     * in reverse afterwards; an entry is a name or id, or `label:<key>[=<value>]` (docs/databases.md).
     */
    stop_containers: z.array(StopContainersEntry).max(32).optional(),
    /** Additive (issue 21): when runs may start (docs/schedules.md "Backup windows"); null/absent = any time. */
    windows: WindowSetSchema.nullable().optional(),
  })
  .strict();
export type ScheduleInput = z.infer<typeof ScheduleInput>;
/** A database target as the API shows it: the password never, only whether one is stored. */
export const DatabaseView = DatabaseTargetFields.omit({ password: true }).extend({ has_password: z.boolean() });
export type DatabaseView = z.infer<typeof DatabaseView>;
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
  databases: z.array(DatabaseView),
  /** Additive (issue 15): the targeted repository; null = the host's primary. */
  repository_id: z.string().nullable(),
  /** Additive (issue 22), check schedules: see ScheduleInput; both null = rotate over 10 runs. */
  read_data_subset: z.string().nullable(),
  read_data_rotation: z.number().int().nullable(),
  /** Additive (issue 16), restore_drill schedules: where the drill runs; null = the host itself. */
  drill_host_id: z.string().nullable(),
  /** Additive (issue 21): whether a Healthchecks-style ping URL is stored (the URL itself is a secret). */
  has_healthcheck_url: z.boolean().optional(),
  /** Additive (issue 18), backup schedules: see ScheduleInput; [] = none. */
  stop_containers: z.array(z.string()),
  /** Additive (issue 21): the schedule's own windows; null = any time (tag windows apply on top). */
  windows: WindowSetSchema.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type ScheduleView = z.infer<typeof ScheduleView>;

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
export type AlertView = z.infer<typeof AlertView>;

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
export type AuditView = z.infer<typeof AuditView>;

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

/* ---- alerting (spec §9): alert kinds, thresholds, notification channels ---- */

/** What raises an alert (spec §9 triggers). */
export const AlertKind = z.enum(['backup_failed', 'backup_overdue', 'check_failed', 'agent_offline', 'repo_growth', 'restore_failed', 'report_quarantined', 'copy_failed', 'copy_behind', 'snapshot_vanished', 'repository_keys_changed', 'restore_drill_failed', 'restore_unproven', 'control_plane_backup_failed']);
export type AlertKind = z.infer<typeof AlertKind>;
export const AlertSeverity = z.enum(['info', 'warning', 'critical']);
export type AlertSeverity = z.infer<typeof AlertSeverity>;
/** `GET /api/alerts`: `open=true|false` (open / resolved), `kind`, `host_id`. */
export const AlertFilterQuery = AlertListQuery.extend({ kind: AlertKind.optional() });

const whole = (what: string) => z.number({ error: `expected a whole number of ${what}` }).int(`expected a whole number of ${what}`);
/** Alert thresholds (server settings, admin-editable). */
export const AlertSettings = z.object({
  /** agent_offline: the host has been offline longer than this. */
  agent_offline_minutes: whole('minutes').min(1, 'at least 1 minute').max(10_080, 'at most 7 days (10080 minutes)'),
  /** backup_overdue: no successful backup this long after the schedule should have fired. */
  backup_overdue_hours: whole('hours').min(1, 'at least 1 hour').max(720, 'at most 30 days (720 hours)'),
  /** repo_growth: the repository grew by more than this between consecutive repo.stats. */
  repo_growth_percent: whole('percent').min(1, 'at least 1 %').max(100_000, 'at most 100000 %'),
  /** restore_unproven (issue 16): no successful restore drill of a drilled host within this many days. */
  restore_unproven_days: whole('days').min(1, 'at least 1 day').max(365, 'at most 365 days'),
});
export type AlertSettings = z.infer<typeof AlertSettings>;
export const AlertSettingsUpdate = AlertSettings.partial().strict();
export const AlertSettingsView = AlertSettings.extend({ updated_at: z.string().nullable() });

export const ChannelType = z.enum(['webhook', 'ntfy', 'email', 'slack', 'discord', 'telegram', 'gotify', 'pushover', 'matrix']);
export type ChannelType = z.infer<typeof ChannelType>;

/** A secret input: a string sets it, null (or "") clears it, absent keeps the stored one. */
const secretInput = z.string().max(1024).nullable().optional();
const httpUrl = z.string().max(2048).url('expected a URL such as https://example.org/hook').refine((u) => /^https?:\/\//i.test(u), 'only http:// and https:// URLs');
/** RFC 5321 lengths too: zod's address pattern accepts a local part over 64 and a domain label over 63 characters. */
const email = z
  .string()
  .max(320)
  .email('expected an e-mail address')
  .refine((a) => {
    const at = a.lastIndexOf('@');
    return at <= 64 && a.slice(at + 1).split('.').every((label) => label.length <= 63);
  }, 'expected an e-mail address (at most 64 characters before the @, 63 per domain label)');

export const WebhookConfig = z.object({ url: httpUrl, secret: secretInput }).strict();
export const NtfyConfig = z
  .object({
    server: httpUrl.default('https://ntfy.sh'),
    topic: z.string().min(1, 'enter a topic').max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
    token: secretInput,
    /** Additive (issue 21): the message body; absent = the default body. */
    template: MessageTemplate.optional(),
  })
  .strict();
export const EmailConfig = z
  .object({
    host: z.string().min(1, 'enter the SMTP host').max(255),
    port: z.number({ error: 'expected a port number' }).int('expected a port number').min(1, 'a port is 1–65535').max(65_535, 'a port is 1–65535'),
    /** none = plain SMTP, starttls = upgrade required, tls = implicit TLS (port 465). */
    tls: z.enum(['none', 'starttls', 'tls']).default('starttls'),
    username: z.string().max(256).nullable().default(null),
    password: secretInput,
    from: email,
    to: z.array(email).min(1, 'enter at least one recipient').max(20),
    /** Additive (issue 21): the mail body; absent = the default body. */
    template: MessageTemplate.optional(),
  })
  .strict();

/*
 * Additive (issue 21): chat and push channels. Every credential (a webhook URL whose path is the
 * secret, a bot / app / access token, the Pushover user key) is a secret input: sealed, shown
 * only as set / not set. `api_url` of Telegram and Pushover replaces the fixed service address
 * (a self-hosted Bot API server, or a loopback receiver in tests); like every URL it passes the
 * SSRF guard, and a stored credential is never sent to a changed address (re-enter it).
 */
const secretUrl = httpUrl.nullable().optional();
const chatTemplate = MessageTemplate.optional();
export const SlackConfig = z.object({ webhook_url: secretUrl, template: chatTemplate }).strict();
export const DiscordConfig = z.object({ webhook_url: secretUrl, template: chatTemplate }).strict();
export const TelegramConfig = z
  .object({
    api_url: httpUrl.default('https://api.telegram.org'),
    chat_id: z.string().min(1, 'enter the chat id').max(64).regex(/^(-?\d{1,20}|@[A-Za-z0-9_]{4,32})$/, 'a numeric chat id (e.g. -1001234567890) or @channelusername'),
    bot_token: secretInput,
    template: chatTemplate,
  })
  .strict();
export const GotifyConfig = z.object({ server: httpUrl, app_token: secretInput, template: chatTemplate }).strict();
export const PushoverConfig = z
  .object({
    api_url: httpUrl.default('https://api.pushover.net'),
    app_token: secretInput,
    user_key: secretInput,
    device: z.string().max(128).regex(/^[A-Za-z0-9_,-]*$/, 'device names: letters, digits, _ and - (comma-separated)').nullable().default(null),
    template: chatTemplate,
  })
  .strict();
export const MatrixConfig = z
  .object({
    homeserver: httpUrl,
    room_id: z.string().min(1, 'enter the room id').max(255).regex(/^![^:\s]+:\S+$/, 'a room id such as !abcdef:example.org (Room settings → Advanced)'),
    access_token: secretInput,
    template: chatTemplate,
  })
  .strict();

const channelCommon = {
  name: z.string().min(1, 'enter a name').max(128),
  enabled: z.boolean().default(true),
  /** Alert kinds this channel receives; empty = every kind. */
  kinds: z.array(AlertKind).max(16).default([]),
  /** Alerts below this severity are not sent. */
  min_severity: AlertSeverity.default('info'),
};
/** `POST /api/notification-channels` and `PUT /api/notification-channels/:id` (the type cannot change). */
export const NotificationChannelInput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('webhook'), ...channelCommon, config: WebhookConfig }).strict(),
  z.object({ type: z.literal('ntfy'), ...channelCommon, config: NtfyConfig }).strict(),
  z.object({ type: z.literal('email'), ...channelCommon, config: EmailConfig }).strict(),
  z.object({ type: z.literal('slack'), ...channelCommon, config: SlackConfig }).strict(),
  z.object({ type: z.literal('discord'), ...channelCommon, config: DiscordConfig }).strict(),
  z.object({ type: z.literal('telegram'), ...channelCommon, config: TelegramConfig }).strict(),
  z.object({ type: z.literal('gotify'), ...channelCommon, config: GotifyConfig }).strict(),
  z.object({ type: z.literal('pushover'), ...channelCommon, config: PushoverConfig }).strict(),
  z.object({ type: z.literal('matrix'), ...channelCommon, config: MatrixConfig }).strict(),
]);
export type NotificationChannelInput = z.infer<typeof NotificationChannelInput>;

export const DeliveryStatus = z.enum(['ok', 'retrying', 'failed']);
/** A channel as the API shows it: secrets only as "set" / "not set", never the value. */
export const NotificationChannelView = z.object({
  id,
  name: z.string(),
  type: ChannelType,
  enabled: z.boolean(),
  kinds: z.array(AlertKind),
  min_severity: AlertSeverity,
  /** The non-secret settings (url, server, topic, host, port, tls, username, from, to). */
  config: z.record(z.string(), z.unknown()),
  secrets: z.record(z.string(), z.enum(['set', 'not set'])),
  last_delivery: z.object({
    status: DeliveryStatus.nullable(),
    at: z.string().nullable(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    last_success_at: z.string().nullable(),
  }),
  /** The durable outbox: events waiting for this channel, and dead letters (given up after the last attempt). */
  outbox: z.object({ waiting: z.number().int(), dead: z.number().int() }),
  created_at: z.string(),
  updated_at: z.string(),
});
export type NotificationChannelView = z.infer<typeof NotificationChannelView>;
/** One row of the durable notification outbox (`GET /api/notification-outbox`). */
export const NotificationOutboxItem = z.object({
  seq: z.number().int(),
  channel_id: id,
  channel_name: z.string(),
  status: z.enum(['pending', 'dead']),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  /**
   * alert.raised / alert.resolved, with the alert's kind, severity and host. Additive (issue 21):
   * a schedule ping is `ping.start` / `ping.success` / `ping.fail` with alert_kind `schedule_ping`,
   * channel_id = the schedule's id and channel_name “ping of <kind> schedule”.
   */
  event: z.string(),
  alert_kind: z.string(),
  severity: AlertSeverity,
  host_name: z.string().nullable(),
  created_at: z.string(),
  next_attempt_at: z.string(),
});
export type NotificationOutboxItem = z.infer<typeof NotificationOutboxItem>;
export const NotificationOutboxQuery = z.object({
  status: z.enum(['pending', 'dead']).default('dead'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
}).strict();
export const ChannelTestResult = z.object({ ok: z.literal(true), channel_id: id, detail: z.string() });
/** `POST /api/schedules/:id/ping-test` (issue 21): `<url>/log` was accepted (Healthchecks logs it without changing the check's state). */
export const SchedulePingTestResult = z.object({ ok: z.literal(true), schedule_id: id, detail: z.string() });
/** `GET /api/hosts/:id/databases`: the agent's last discovery report (null fields: none yet). */
export const DiscoveredDatabasesView = z.object({
  host_id: id,
  discovered_at: z.string().nullable(),
  local: z.array(z.record(z.string(), z.unknown())),
  containers: z.array(z.record(z.string(), z.unknown())),
  docker_error: z.string().nullable(),
  /** Volumes and bind mounts of running containers (paths on the host), to offer as backup paths. */
  volumes: z.array(z.record(z.string(), z.unknown())),
});
export type DiscoveredDatabasesView = z.infer<typeof DiscoveredDatabasesView>;

/** `GET /api/hosts/:id/maintenance-credential`: whether one is stored, for whom, since when; never the password. */
export const MaintenanceCredentialStatus = z.object({
  set: z.boolean(), rest_username: z.string().nullable(), url: z.string().nullable(), set_at: z.string().nullable(), append_only: z.boolean(),
});
/** `PUT` / `DELETE /api/hosts/:id/maintenance-credential`. */
export const MaintenanceCredentialSet = z.object({ set: z.boolean() });
/** `PUT /api/hosts/:id/hooks`: which host default hooks are now set (never their bodies). */
export const HostHooksView = z.object({ has_pre_hook: z.boolean(), has_post_hook: z.boolean() });
/** `GET /api/hosts/:id/locks`: the locks the agent last reported, with their age. */
export const RepoLocksView = z.object({
  items: z.array(z.object({ id: z.string(), time: z.string(), host: z.string(), pid: z.number().int(), exclusive: z.boolean(), stale: z.boolean(), age_seconds: z.number().int() })),
});
/** `GET /api/schedules/preview` of a valid expression (an invalid one is a 400 naming cron_expr). */
export const CronPreviewView = z.object({ ok: z.literal(true), description: z.string(), time_zone: z.string(), next: z.array(z.string()) });
/** `GET /api/schedules/overdue`. */
export const OverdueSchedulesView = z.object({
  items: z.array(z.object({ schedule_id: z.string(), host_id: z.string(), kind: z.string(), cron_expr: z.string(), missed_at: z.string(), last_run_at: z.string().nullable() })),
});

/** An agent report the server could not store and set aside (issue 22; admins only). */
export const QuarantinedReportView = z.object({
  id: z.string(),
  host_id: z.string(),
  outbox_seq: z.number().int(),
  type: z.string(),
  /** The report's JSON as received (cut at 64 KiB). */
  frame: z.string(),
  error: z.string(),
  attempts: z.number().int(),
  created_at: z.string(),
});
export type QuarantinedReportView = z.infer<typeof QuarantinedReportView>;
