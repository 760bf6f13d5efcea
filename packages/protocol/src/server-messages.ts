import { z } from 'zod';
import { WindowSetSchema } from './window-schemas.js';
import { BandwidthOptions, JobKind, RetentionPolicy, ScheduleKind } from './common.js';
import { RepoKeyAdd, RepoKeyRemove, SnapshotLs } from './requests.js';
import { ForgetPreview, SnapshotDiff } from './inspect.js';
import { VaultJobTarget } from './vault.js';
import { RepoTest, RepositoryConfig } from './repository.js';
import { DownloadCancel, DownloadCredit, DownloadStart } from './download.js';
import { StopContainersEntry } from './container-select.js';
import { SlotGrant } from './concurrency.js';

/* Server -> agent frames (spec §6.2). */

export const ServerHello = z.object({
  type: z.literal('hello'),
  protocol_version: z.number().int().positive(),
  server_version: z.string(),
  host_id: z.string(),
  /**
   * true: this server answers reports that carry `outbox_seq` with `ack` once it has stored
   * them, and the agent trims its outbox only on that ack. Absent on older servers.
   */
  outbox_acks: z.boolean().optional(),
  /** true: this server accepts `databases.report` (absent on older servers: the agent sends none). */
  databases_report: z.boolean().optional(),
});

/**
 * postgres, mariadb, mysql: SQL servers (local, TCP or in a container). redis: an RDB copy through
 * `redis-cli --rdb`. sqlite: an online `.backup` of a database file (`path`). mongodb: a
 * `mongodump --archive`. The last three run on the agent's host only (no `container`).
 */
export const DatabaseEngine = z.enum(['postgres', 'mariadb', 'mysql', 'redis', 'sqlite', 'mongodb']);
/** Engines whose tools can run inside a container through `docker exec`. */
export const CONTAINER_ENGINES: readonly DatabaseEngine[] = ['postgres', 'mariadb', 'mysql'];
export type DatabaseEngine = z.infer<typeof DatabaseEngine>;

// NUL as \x00, not \0: the OpenAPI pattern must also read as a regex in Python (the API fuzzer)
// eslint-disable-next-line no-control-regex
const dbName = z.string().min(1).max(128).regex(/^[^\x00/\\,\s-][^\x00/\\,]*$/, 'a database name has no / \\ , or NUL and does not start with - or a space');

/**
 * One database to dump into its own snapshot (docs/databases.md). `password` is a secret: the
 * agent hands it to the dump tool through its environment only; the server seals it at rest and
 * never returns it. Exactly one of `database` and `all` is set.
 */
export const DatabaseTargetFields = z
  .object({
    engine: DatabaseEngine,
    /** TCP host; absent: the local unix socket (or the container's, with `container`). */
    host: z.string().min(1).max(255).regex(/^[A-Za-z0-9_.:/[\]-]+$/, 'a host name, IP address or socket directory').optional(),
    port: z.number().int().min(1).max(65535).optional(),
    // NUL as \x00, not \0: the OpenAPI pattern must also read as a regex in Python (the API fuzzer)
    // eslint-disable-next-line no-control-regex
    user: z.string().min(1).max(128).regex(/^[^\x00\s]+$/, 'no spaces').optional(),
    password: z.string().min(1).max(1024).optional(),
    database: dbName.optional(),
    all: z.literal(true).optional(),
    /** postgres: `custom` (pg_restore) or `plain` SQL (default). */
    format: z.enum(['plain', 'custom']).optional(),
    /** postgres: also dump roles and tablespaces (`pg_dumpall --globals-only`) into `globals.sql`. */
    globals: z.boolean().optional(),
    /** Docker container name or id: the dump runs via `docker exec` inside it. */
    container: z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a container name or id').optional(),
    /** OS user the dump tools run as (e.g. `postgres`, for peer authentication on the local socket). */
    run_as: z.string().min(1).max(64).regex(/^([a-z_][a-z0-9_.-]*|\d+)$/, 'a user name or uid').optional(),
    /**
     * With `container`: the name of the container's own variable that holds the password (e.g.
     * POSTGRES_PASSWORD, as discovery reports it); the agent reads its value through the Docker
     * API when the dump runs. `password`, when also set, wins.
     */
    password_env: z.string().min(1).max(128).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
    /** sqlite only: the absolute path of the database file (`database` names its snapshot). */
    // eslint-disable-next-line no-control-regex
    path: z.string().min(2).max(1024).regex(/^\/[^\x00]*$/, 'an absolute path').optional(),
  })
  .strict();

/** The rules of each engine beyond the field shapes (shared by dump targets and restore connections). */
export function engineIssues(d: { engine: DatabaseEngine; path?: string | undefined; container?: string | undefined; all?: true | undefined; password_env?: string | undefined }): { path: string[]; message: string }[] {
  const out: { path: string[]; message: string }[] = [];
  if (d.password_env && !d.container) out.push({ path: ['password_env'], message: 'password_env names a variable of the container: set container too' });
  if (d.container && !CONTAINER_ENGINES.includes(d.engine)) out.push({ path: ['container'], message: `${d.engine} dumps run on the agent's host only (container applies to postgres, mariadb and mysql)` });
  if (d.engine === 'sqlite' && !d.path) out.push({ path: ['path'], message: 'sqlite needs path: the database file' });
  if (d.engine !== 'sqlite' && d.path) out.push({ path: ['path'], message: 'path applies to sqlite only' });
  if ((d.engine === 'redis' || d.engine === 'sqlite') && d.all) out.push({ path: ['all'], message: `${d.engine} has no database list: set database, the name of its snapshot` });
  return out;
}
export const DatabaseTarget = DatabaseTargetFields
  .refine((d) => (d.database !== undefined) !== (d.all === true), 'set exactly one of database and all')
  .refine((d) => !(d.run_as && d.container), { message: 'run_as does not apply to a container (docker exec runs as the container user)', path: ['run_as'] })
  .superRefine((d, ctx) => {
    for (const i of engineIssues(d)) ctx.addIssue({ code: z.ZodIssueCode.custom, ...i });
  });
export type DatabaseTarget = z.infer<typeof DatabaseTarget>;


/** Arguments of a job, by kind. Unknown keys are rejected so typos never silently do nothing. */
const BackupFields = z
  .object({
    /** May be empty only when `databases` is set. */
    paths: z.array(z.string().min(1)).default([]),
    excludes: z.array(z.string()).default([]),
    tags: z.array(z.string()).default([]),
    one_file_system: z.boolean().optional(),
    pre_hook: z.string().max(8192).optional(),
    post_hook: z.string().max(8192).optional(),
    run_as: z.string().max(64).optional(),
    /** Database dumps, one snapshot each (additive: agents before this field refuse the job). */
    databases: z.array(DatabaseTarget).min(1).max(64).optional(),
    /**
     * Containers to stop (`docker stop`, in this order) before the backup and start again (in the
     * reverse order) afterwards, also when it fails or is cancelled (additive; docs/databases.md).
     * An entry is a name or id, or `label:<key>[=<value>]` (agents announcing `stop_containers_labels`).
     */
    stop_containers: z.array(StopContainersEntry).min(1).max(32).optional(),
  })
  .merge(BandwidthOptions)
  .strict();
export const BackupArgs = BackupFields.superRefine((a, ctx) => {
  if (a.paths.length === 0 && !a.databases) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['paths'], message: 'at least one path (or a database) is required' });
});
export type BackupArgs = z.infer<typeof BackupArgs>;

export const ForgetArgs = z
  .object({
    policy: RetentionPolicy, prune: z.boolean().default(false), tags: z.array(z.string()).optional(),
    /** Additive (issue 15): only this hostname's snapshots (restic `--host`); the server sets it when the repository serves several hosts. */
    host: z.string().min(1).max(255).optional(),
  })
  .merge(BandwidthOptions)
  .strict();
export const PruneArgs = BandwidthOptions.strict();
/** restic `--read-data-subset`: `n/t`, `x%` or a size (`500M`). */
export const ReadDataSubset = z.string().regex(/^(\d+(\.\d+)?%|\d+\/\d+|\d+[KMGT]?)$/, 'n/t, x% or a size such as 500M');
/** A check reads part n of t of the pack data, n advancing each run, when neither field is given (issue 22). */
export const DEFAULT_CHECK_ROTATION = 10;
/**
 * `check`: `read_data_subset` reads that subset; otherwise `read_data_rotation` t (default
 * DEFAULT_CHECK_ROTATION) reads part n of t, the agent advancing n per repository each run, so t
 * checks read all the data; `read_data_rotation: 0` checks the structure only (no pack data).
 */
export const CheckArgs = z
  .object({
    read_data_subset: ReadDataSubset.optional(),
    read_data_rotation: z.number().int().min(0).max(1000).optional(),
  })
  .strict();
export const RestoreArgs = z
  .object({
    snapshot_id: z.string().min(1),
    target: z.string().min(1),
    include: z.array(z.string()).default([]),
    exclude: z.array(z.string()).default([]),
    verify: z.boolean().default(false),
    /**
     * Path rewriting (additive): each `from` subtree of the snapshot lands at `to` instead
     * (restore-plan.ts). Agents that predate it reject the key, so the job fails clearly.
     */
    remap: z.array(z.object({ from: z.string().min(1).max(4096), to: z.string().min(1).max(4096) }).strict()).max(32).optional(),
  })
  .merge(BandwidthOptions)
  .strict();
export type RestoreArgs = z.infer<typeof RestoreArgs>;
export const EmptyArgs = z.object({}).strict();

/**
 * A one-job credential override (spec §7.4: the maintenance credential for forget/prune, or
 * the temporary read credential of a cross-host restore). Used for that job only and never
 * persisted by the agent.
 */
export const JobCredential = z.object({
  repository: z.string().min(1),
  password: z.string().min(1),
  rest_username: z.string().optional(),
  rest_password: z.string().optional(),
  /** Additive: one line the agent writes to the job's log first (which credential this is; never a secret). */
  note: z.string().max(500).optional(),
});
export type JobCredential = z.infer<typeof JobCredential>;

export const CommandRun = z.object({
  type: z.literal('command.run'),
  job_id: z.string().min(1).max(64),
  kind: JobKind,
  args: z.record(z.string(), z.unknown()).default({}),
  credential: JobCredential.optional(),
  /** Additive: the vault target of a vault_* job (S3 keys included; kept in memory for this job only). */
  vault: VaultJobTarget.optional(),
  /**
   * Additive (issue 15): the repository this job runs against, with its backend credentials,
   * used for this job only. Absent: the host's primary repository from config.update.
   */
  repository: RepositoryConfig.optional(),
  /** Additive (issue 15): the target of a `copy` job (the source is `repository`). */
  copy_target: RepositoryConfig.optional(),
  /** Additive (issue 21): the end of the job's `stop` backup window; the agent cancels the job then, with the window's reason. */
  stop_at: z.iso.datetime().optional(),
});
export type CommandRun = z.infer<typeof CommandRun>;

export const CommandCancel = z.object({ type: z.literal('command.cancel'), job_id: z.string().min(1).max(64) });

export const ScheduleSpec = z.object({
  id: z.string(),
  kind: ScheduleKind,
  /** croner syntax: 5 fields, or 6 with leading seconds. */
  cron_expr: z.string().min(1),
  time_zone: z.string().optional(),
  enabled: z.boolean(),
  paths: z.array(z.string()).default([]),
  excludes: z.array(z.string()).default([]),
  tags: z.array(z.string()).default([]),
  retention_policy: z.record(z.string(), z.unknown()).nullable().default(null),
  options: BandwidthOptions.default({}),
  pre_hook: z.string().nullable().default(null),
  post_hook: z.string().nullable().default(null),
  run_as: z.string().nullable().default(null),
  /** Backup schedules: databases to dump (additive; passwords included, see docs/databases.md). */
  databases: z.array(DatabaseTarget).optional(),
  /** Additive (issue 15): the repository the schedule targets (one of config.update.repositories); absent = the primary. */
  repository_id: z.string().min(1).max(64).optional(),
  /** Additive (issue 22), check schedules: CheckArgs' fields (absent = rotate over DEFAULT_CHECK_ROTATION runs). */
  read_data_subset: ReadDataSubset.optional(),
  read_data_rotation: z.number().int().min(0).max(1000).optional(),
  /**
   * Additive (issue 18), backup schedules: BackupArgs.stop_containers (sent only to agents announcing
   * `stop_containers`; one with a `label:` entry only to agents announcing `stop_containers_labels`).
   */
  stop_containers: z.array(StopContainersEntry).max(32).optional(),
  /**
   * Additive (issue 21): backup windows, one set per source (the schedule's own, then each tag of
   * the host that has windows); a run starts only when every set allows it (windows.ts). Absent =
   * any time; an older agent ignores it.
   */
  windows: z.array(WindowSetSchema.extend({ source: z.string().max(80).optional() })).max(33).optional(),
  /**
   * Additive (issue 21): a concurrency cap applies to this schedule's jobs: the agent reports a
   * fired job `job.queued` with `awaiting_slot` and starts it on `slot.grant` (docs/schedules.md).
   */
  capped: z.boolean().optional(),
});
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

export const ScheduleSet = z.object({
  type: z.literal('schedule.set'),
  schedule_version: z.number().int().nonnegative(),
  schedules: z.array(ScheduleSpec),
});

/** Repository credentials for routine jobs (spec §7.3). */
export const ConfigUpdate = z.object({
  type: z.literal('config.update'),
  repository: z.string().min(1),
  password: z.string().min(1),
  rest_username: z.string().optional(),
  rest_password: z.string().optional(),
  /**
   * Additive (issue 15): every repository this host's schedules use, with backend credentials
   * (sealed at rest by the agent). The top-level fields stay the primary repository's, for
   * agents that predate repositories.
   */
  repositories: z.array(RepositoryConfig).max(32).optional(),
});

export const AgentUpdateAvailable = z.object({
  type: z.literal('agent.update.available'),
  version: z.string(),
  url: z.string(),
});

/**
 * The agent may drop every outbox entry with `outbox_seq` <= this one: the server has durably
 * applied them (or rejected them for good with an `error` frame). Cumulative, per connection.
 */
export const OutboxAck = z.object({
  type: z.literal('ack'),
  outbox_seq: z.number().int().positive(),
});

/** Sent before the server closes a connection or rejects a frame. Never echoes secrets. */
export const ServerError = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  upgrade_url: z.string().optional(),
});

export const ServerMessage = z.discriminatedUnion('type', [
  ServerHello, CommandRun, CommandCancel, ScheduleSet, ConfigUpdate, AgentUpdateAvailable, ServerError, OutboxAck,
  SnapshotLs, RepoKeyAdd, RepoKeyRemove, RepoTest,
  SnapshotDiff, ForgetPreview, DownloadStart, DownloadCredit, DownloadCancel, SlotGrant,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type ServerHello = z.infer<typeof ServerHello>;
export type CommandCancel = z.infer<typeof CommandCancel>;
export type ScheduleSet = z.infer<typeof ScheduleSet>;
export type ConfigUpdate = z.infer<typeof ConfigUpdate>;
export type AgentUpdateAvailable = z.infer<typeof AgentUpdateAvailable>;
export type ServerError = z.infer<typeof ServerError>;
export type OutboxAck = z.infer<typeof OutboxAck>;

/**
 * `code` values of the server's `error` frame on the agent socket. The connection stays open
 * unless the frame is followed by a close (protocol_too_old, expected_hello).
 */
export const AgentErrorCode = z.enum([
  'bad_json', 'bad_frame', 'too_large', 'expected_hello', 'unexpected_hello', 'protocol_too_old',
  'not_found', 'forbidden', 'invalid_state', 'internal',
  /** Additive: the agent created more jobs than AGENT_JOB_LIMITS allow (docs/protocol.md). */
  'rate_limited',
]);
export type AgentErrorCode = z.infer<typeof AgentErrorCode>;

