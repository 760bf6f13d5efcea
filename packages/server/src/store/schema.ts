import type { ColumnType, Generated } from 'kysely';

/*
 * Row types of the SQLite store (spec §5). Times are ISO-8601 UTC strings; JSON columns are
 * TEXT. Columns ending in `_enc` hold SecretBox ciphertext and are never returned by the API.
 */

/** How an account signs in; 'service' (migration 0032) = a service account that never does (tokens only). */
export type AuthMethod = 'password' | 'oidc' | 'service';

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: 'admin' | 'operator' | 'viewer';
  created_at: string;
  last_login_at: string | null;
  /** Set when an admin disabled the account (migration 0004): no sign-in, no sessions. */
  disabled_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** How the account signs in (migration 0011): a password, or an OIDC provider. */
  auth_method: ColumnType<AuthMethod, AuthMethod | undefined, AuthMethod>;
  /** Set once the user confirmed a TOTP second factor (migration 0033); null = none. */
  totp_enabled_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON array of host tags the user is limited to (migration 0039); null = every host. */
  scope_tags: ColumnType<string | null, string | null | undefined, string | null>;
}

/** An OIDC account's link: (issuer, subject) -> user (migration 0011). */
export interface UserIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: string;
}

export interface SessionsTable {
  /** sha256 of the cookie value. */
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  ua: string | null;
}

export interface HostsTable {
  id: string;
  name: string;
  hostname: string | null;
  os: string | null;
  arch: string | null;
  agent_version: string | null;
  restic_version: string | null;
  protocol_version: number | null;
  enrolled_at: string | null;
  last_seen_at: string | null;
  status: 'online' | 'offline' | 'degraded' | 'pending';
  repo_id: string | null;
  tags: string;
  current_job_id: string | null;
  last_backup_at: string | null;
  last_backup_status: 'succeeded' | 'failed' | 'cancelled' | null;
  repo_size_bytes: number | null;
  snapshot_count: number | null;
  open_alert_count: Generated<number>;
  schedule_version: Generated<number>;
  applied_schedule_version: number | null;
  agent_token_hash: string | null;
  repo_initialised_at: string | null;
  created_at: string;
  /** Sealed host-level default hooks for backup schedules (migration 0005, §14.3). */
  pre_hook_default_enc: ColumnType<string | null, string | null | undefined, string | null>;
  post_hook_default_enc: ColumnType<string | null, string | null | undefined, string | null>;
  /** IANA time zone set by an operator (migration 0006); default zone of the host's schedules. */
  time_zone: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0009: JSON `hello.features` of the last hello; null = the agent never said. */
  agent_features: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0009: the last databases.report as JSON (no secrets); null = none yet. */
  discovered_databases: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0013: finish time and status of the last vault_backup job (decision server-0008). */
  last_vault_backup_at: ColumnType<string | null, string | null | undefined, string | null>;
  last_vault_backup_status: ColumnType<'succeeded' | 'failed' | 'cancelled' | null, 'succeeded' | 'failed' | 'cancelled' | null | undefined, 'succeeded' | 'failed' | 'cancelled' | null>;
  /** Migration 0015: set when an admin's one-off restore shared this host's permanent credential; cleared by a rotation. */
  credential_rotation_since: ColumnType<string | null, string | null | undefined, string | null>;
  credential_rotation_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface CredentialsTable {
  id: string;
  kind: 'rest' | 'repo_password';
  username: string | null;
  secret_enc: string;
  rotated_at: string;
}

export interface ReposTable {
  id: string;
  name: string;
  url: string;
  kind: 'rest' | 's3' | 'local' | 'other';
  credential_id: string | null;
  password_secret_id: string | null;
  size_bytes: number | null;
  snapshot_count: number | null;
  dedup_ratio: number | null;
  last_check_at: string | null;
  last_check_status: string | null;
  lock_state: string | null;
  append_only: number;
  credential_rotated_at: string | null;
  created_at: string;
  /** Sealed JSON {url, rest_username, rest_password}: the §7.4 maintenance credential (migration 0005). */
  maintenance_enc: ColumnType<string | null, string | null | undefined, string | null>;
  maintenance_set_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** The locks the agent last listed, as JSON `{ listed_at, items: [{id,time,host,username,pid,exclusive,stale}] }` (a bare array before issue 22; see services/repo-locks.ts). */
  locks: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0016: restic | rustic. */
  engine: ColumnType<'restic' | 'rustic', 'restic' | 'rustic' | undefined, 'restic' | 'rustic'>;
  /** Migration 0016: the backend of `url` (RepositoryBackend); null = a prefix restic-manager does not know. */
  backend: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0016: sealed BackendCredentials JSON, AAD `repository:<id>`; null = none, or the legacy REST row of `credential_id`. */
  credentials_enc: ColumnType<string | null, string | null | undefined, string | null>;
  tls_ca_pem: ColumnType<string | null, string | null | undefined, string | null>;
  updated_at: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Migration 0016: which repositories serve which host (`is_primary` = 1: the one `hosts.repo_id` names). */
export interface HostRepositoriesTable {
  host_id: string;
  repo_id: string;
  is_primary: number;
  created_at: string;
}

export interface EnrollmentTokensTable {
  id: string;
  token_hash: string;
  host_id: string;
  /** Sealed {repository}: url, password, rest_username, rest_password; null = keep current. */
  blob_enc: string | null;
  expires_at: string;
  used_at: string | null;
  created_by: string | null;
  created_at: string;
}

export interface SchedulesTable {
  id: string;
  host_id: string;
  kind: 'backup' | 'forget' | 'prune' | 'check' | 'vault_backup' | 'vault_prune' | 'restore_drill';
  cron_expr: string;
  time_zone: string | null;
  enabled: number;
  paths: string;
  excludes: string;
  tags: string;
  retention_policy: string | null;
  options: string;
  pre_hook_enc: string | null;
  post_hook_enc: string | null;
  run_as: string | null;
  /** Migration 0009: sealed JSON DatabaseTarget[] (passwords included), AAD `databases:<id>`. */
  databases_enc: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0016: the repository the schedule targets; null = the host's primary. */
  repository_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0020, check schedules: a fixed --read-data-subset, or part n of t per run (0 = none); both null = rotate over 10. */
  read_data_subset: ColumnType<string | null, string | null | undefined, string | null>;
  read_data_rotation: ColumnType<number | null, number | null | undefined, number | null>;
  /** Migration 0031, restore_drill schedules: the host the sample is restored on; null = the host itself. */
  drill_host_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0034: backup schedules' containers to stop around the backup (JSON array); null = none. */
  stop_containers: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0037: the schedule's own backup windows (JSON WindowSet); null = any time. */
  windows: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 36 (issue 21): the Healthchecks-style ping URL, sealed (AD `schedule-ping:<id>`); null = none. */
  healthcheck_url_enc: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: string;
  updated_at: string;
}

/** Migration 0037: backup windows of a host tag (JSON WindowSet), applied to the schedules of hosts carrying it. */
export interface TagWindowsTable {
  tag: string;
  windows: string;
  updated_at: string;
}

export interface JobsTable {
  id: string;
  host_id: string;
  kind: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  schedule_id: string | null;
  actor_kind: 'user' | 'schedule' | 'system';
  actor_id: string | null;
  /** Sealed job arguments (may hold hooks). */
  args_enc: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  stats: string | null;
  error: string | null;
  error_kind: string | null;
  progress: string | null;
  progress_seq: number | null;
  /** Set when command.run was handed to the agent's socket (migration 0002). */
  dispatched_at: string | null;
  /** Migration 0016: the (non-primary) repository the job runs against; null = the host's primary. */
  repository_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface JobEventsTable {
  job_id: string;
  seq: number;
  type: string;
}

export interface JobLogsTable {
  job_id: string;
  seq: number;
  ts: string;
  stream: 'stdout' | 'stderr' | 'event';
  payload: string;
}

export interface SnapshotsTable {
  id: string;
  host_id: string;
  repo_id: string | null;
  short_id: string;
  time: string;
  hostname: string;
  paths: string;
  tags: string;
  size_bytes: number | null;
  file_count: number | null;
}

export interface AlertsTable {
  id: string;
  host_id: string | null;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
  created_at: string;
  acknowledged_at: string | null;
  resolved_at: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  user_id: string | null;
  actor: 'user' | 'agent' | 'system';
  actor_name: string | null;
  action: string;
  target_kind: string | null;
  target_id: string | null;
  ts: string;
  payload: string;
}

/** Migration 0030: a named lease (one server process does the periodic work it names). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: string;
}

/** Migration 0041: a bus message too large for one NOTIFY, sealed (cluster/pg-bus.ts). */
export interface ClusterMessagesTable {
  id: string;
  sealed: string;
  created_at: string;
}

/** Migration 0029: an OIDC sign-in attempt (id = SHA-256 of the attempt cookie). */
export interface OidcPendingTable {
  id: string;
  sealed: string;
  created_at: string;
}

/** Migration 0028: one alert event waiting for (or given up on by) one channel. */
export interface NotificationOutboxTable {
  seq: Generated<number>;
  /** The channel of an alert event, or null for a schedule ping (migration 36). */
  channel_id: string | null;
  /** Migration 36: the schedule of a Healthchecks-style ping; null for an alert event. */
  schedule_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The AlertEvent as JSON (no secrets: alert text only). */
  event: string;
  status: 'pending' | 'dead';
  attempts: number;
  next_attempt_at: string;
  claimed_until: string | null;
  last_error: string | null;
  created_at: string;
}

export interface NotificationChannelsTable {
  id: string;
  name: string;
  type: 'webhook' | 'ntfy' | 'email' | 'slack' | 'discord' | 'telegram' | 'gotify' | 'pushover' | 'matrix';
  enabled: number;
  /** JSON of the non-secret settings. */
  config: string;
  /** SecretBox JSON of the secrets (webhook secret, tokens, SMTP password, secret webhook URLs), AD `channel:<id>`. */
  secrets_enc: string | null;
  /** JSON array of alert kinds; [] = all. */
  kinds: string;
  min_severity: 'info' | 'warning' | 'critical';
  last_status: 'ok' | 'retrying' | 'failed' | null;
  last_attempt_at: string | null;
  last_error: string | null;
  last_attempts: number;
  last_success_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlertSettingsTable {
  id: number;
  agent_offline_minutes: number;
  backup_overdue_hours: number;
  repo_growth_percent: number;
  /** Migration 0031. */
  restore_unproven_days: ColumnType<number, number | undefined, number>;
  updated_at: string;
}

/** Migration 0040: a host trusted for vault drills and the age identity its agent reported (public recipient only). */
export interface VaultDrillHostsTable {
  host_id: string;
  trusted: number;
  trusted_by: string | null;
  trusted_at: string | null;
  identity_recipient: string | null;
  identity_error: string | null;
  identity_reported_at: string | null;
}

/** Migration 0031: one restore drill (its job belongs to the drill host, the proof to `host_id`). */
export interface RestoreDrillsTable {
  job_id: string;
  host_id: string;
  drill_host_id: string;
  repository_id: string | null;
  engine: string;
  status: string;
  snapshot_id: string | null;
  files: number | null;
  bytes: number | null;
  duration_seconds: number | null;
  throughput_bps: number | null;
  rto_seconds: number | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

/** Migration 0008: the temporary credential of a cross-host restore job. */
export interface RestoreCredentialsTable {
  job_id: string;
  source_host_id: string;
  target_host_id: string;
  mode: 'temporary_key' | 'stored_credential';
  key_id: string | null;
  secret_enc: string | null;
  reason: string;
  issued_at: string;
  revoked_at: string | null;
  revoke_error: string | null;
  /** Migration 0015: the source's permanent secrets an admin confirmed sharing (`repository_password,rest_login`); null = none. */
  shared: string | null;
}

/** Migration 0012: one trend point (raw, or a per-UTC-day aggregate when `daily` = 1). */
export interface TrendPointsTable {
  host_id: string;
  /** One of TREND_METRICS (services/trends.ts). */
  metric: string;
  ts: string;
  value: number;
  n: ColumnType<number, number | undefined, number>;
  daily: ColumnType<number, number | undefined, number>;
}

/** Migration 0012: the fleet's total repository bytes as last seen on each UTC day. */
export interface FleetTrendTable {
  day: string;
  total_bytes: number;
  hosts: number;
  updated_at: string;
}

/** Migration 0010: a host's vault target (S3 keys sealed in keys_enc; never an age private key). */
export interface HostVaultsTable {
  host_id: string;
  storage_type: 's3' | 'local';
  local_path: string | null;
  s3_endpoint: string | null;
  s3_bucket: string | null;
  s3_prefix: string | null;
  s3_region: string | null;
  /** SecretBox JSON `{ access_key_id?, secret_access_key? }`, AAD `vault:<host id>`. */
  keys_enc: string | null;
  age_recipient: string;
  chunk_size: number | null;
  blob_size_limit: number | null;
  created_at: string;
  updated_at: string;
  /** JSON list of VaultSnapshotInfo from the last vault.snapshots.report. */
  snapshots: string | null;
  snapshots_at: string | null;
}

/** Sign-in throttle state (migration 0014, decision server-0003). */
export interface LoginAttemptsTable {
  scope: 'pair' | 'account' | 'known';
  /** Lower-cased. */
  username: string;
  /** The client address; '' for the `account` scope. */
  ip: string;
  /** Attempts reserved since the last success (or since the row was forgotten). */
  attempts: number;
  /** The earliest time the next attempt may be evaluated, once the free attempts are spent. */
  next_at: string;
  updated_at: string;
}

/** Migration 0017: copy policies (docs/copies.md). */
export interface CopyPoliciesTable {
  id: string;
  source_repository_id: string;
  target_repository_id: string;
  /** null: every host linked to the source repository. */
  host_id: string | null;
  mode: 'after_backup' | 'schedule';
  cron_expr: string | null;
  time_zone: string;
  enabled: number;
  created_at: string;
  updated_at: string;
}

/** Migration 0017: the last copy of a policy for one host. */
export interface CopyPolicyRunsTable {
  policy_id: string;
  host_id: string;
  last_job_id: string | null;
  /** Finish time of the last copy job (any outcome). */
  last_copy_at: string | null;
  last_copy_status: 'succeeded' | 'failed' | 'cancelled' | null;
  last_success_at: string | null;
  last_error: string | null;
}

/** Migration 0018: agent reports set aside after failing to store while the store was writable. */
export interface QuarantinedReportsTable {
  id: string;
  host_id: string;
  outbox_seq: number;
  type: string;
  frame: string;
  error: string;
  attempts: number;
  created_at: string;
}

/** Migration 0019: every snapshot a repository ever reported (docs/recoverability.md "Snapshot ledger"). */
export interface SnapshotLedgerTable {
  repo_id: string;
  snapshot_id: string;
  short_id: string;
  time: string;
  hostname: string;
  /** JSON array of paths. */
  paths: string;
  tree: string | null;
  size_bytes: number | null;
  /** Listing times (the report's time, see services/snapshot-ledger.service.ts). */
  first_seen_at: string;
  last_seen_at: string;
  /** Set when a newer full listing of the repository no longer had it. */
  gone_at: string | null;
  /** The forget/prune job that authorised its removal; null with gone_at set = vanished. */
  removed_by_job_id: string | null;
  /** When an admin acknowledged its unauthorised disappearance (the freeze it caused). */
  acknowledged_at: string | null;
}

/** Migration 0019: a repository's ledger position, key/config ids and freeze (one row per repository). */
export interface RepositoryIntegrityTable {
  repo_id: string;
  /** Time of the newest snapshot listing applied to the ledger; an older one is a replay and ignored. */
  reported_at: string | null;
  /** JSON array of the key ids last reported (repo.stats.key_ids); null = never reported. */
  key_ids: string | null;
  config_id: string | null;
  /** Time of the repo.stats listing key_ids/config_id applied last; an older one is a replay and ignored. */
  keys_reported_at: string | null;
  /** Set when the keys or config id changed outside the server's own temporary restore keys. */
  keys_changed_at: string | null;
  keys_change: string | null;
  /** Forget/prune refused since then, until an admin acknowledges; null = not frozen. */
  frozen_since: string | null;
  /** Why, in words (shown on the repository and in refusals). */
  frozen_reason: string | null;
  /** JSON array of the hosts whose alerts this freeze raised (resolved by the acknowledgement). */
  alert_host_ids: ColumnType<string, string | undefined, string>;
}

/** An API token (migration 0032, docs/server.md "API tokens"). */
export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  /** Keyed hash (HMAC-SHA256) of the secret; never the secret. */
  token_hash: string;
  prefix: string;
  role: 'admin' | 'operator' | 'viewer';
  /** JSON array of tags, or null = every host. */
  scope_tags: string | null;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  revoked_at: string | null;
}

/** A user's TOTP secret (migration 0033): sealed (AAD `totp:<user_id>`); `confirmed` 0 while enrolment is pending. */
export interface UserTotpTable {
  user_id: string;
  secret_enc: string;
  confirmed: number;
  /** The last accepted RFC 6238 time step; a code must be for a later one. */
  last_step: number;
  created_at: string;
}

/** Single-use recovery codes (migration 0033), keyed hashes. */
export interface UserRecoveryCodesTable {
  user_id: string;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

/** A password sign-in waiting for its second factor (migration 0033); `id` is the hash of the challenge token. */
export interface TotpChallengesTable {
  id: string;
  user_id: string;
  ip: string;
  expires_at: string;
  attempts: number;
}

/** One row (id 1): sign-in policy (migration 0033). */
export interface AuthSettingsTable {
  id: number;
  /** JSON array of the roles that must sign in with a second factor. */
  totp_required_roles: string;
  updated_at: string | null;
}

/** Migration 0035: the control plane's own backup schedule and its last run (one row, id 1). */
export interface ControlPlaneBackupTable {
  id: number;
  enabled: number;
  cron_expr: string;
  time_zone: string;
  repository_id: string | null;
  /** JSON array of age recipients (public keys). */
  recipients: string;
  include_key: number;
  updated_at: string | null;
  /** Set while a backup runs (the claim); null otherwise. */
  running_since: string | null;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_status: string | null;
  last_trigger: string | null;
  last_snapshot_id: string | null;
  last_error: string | null;
  last_duration_ms: number | null;
  last_success_at: string | null;
}

/** Migration 0037: a server-fired job held for its backup window, and the stop time of a `stop` window. */
export interface WindowWaitsTable {
  job_id: string;
  start_at: string;
  stop_at: string | null;
}

/** Migration 0038 (issue 21): a concurrency cap. */
export interface ConcurrencyCapsTable {
  scope: string;
  cap_key: string;
  max_jobs: number;
  updated_at: string;
}

/** Migration 0038 (issue 21): a capped job's place: waiting for a slot, or holding one. */
export interface JobSlotsTable {
  job_id: string;
  host_id: string;
  ticket: number;
  /** JSON array of cap keys (`fleet`, `tag:<t>`, `backend:<k>`). */
  cap_keys: string;
  state: 'waiting' | 'holding';
  /** server: sent with command.run once granted; agent: a scheduled job the agent holds until slot.grant. */
  origin: 'server' | 'agent';
  enqueued_at: string;
  granted_at: string | null;
  lease_expires_at: string | null;
}

export interface Database {
  tag_windows: TagWindowsTable;
  window_waits: WindowWaitsTable;
  concurrency_caps: ConcurrencyCapsTable;
  job_slots: JobSlotsTable;
  user_totp: UserTotpTable;
  user_recovery_codes: UserRecoveryCodesTable;
  totp_challenges: TotpChallengesTable;
  auth_settings: AuthSettingsTable;
  control_plane_backup: ControlPlaneBackupTable;
  api_tokens: ApiTokensTable;
  quarantined_reports: QuarantinedReportsTable;
  users: UsersTable;
  login_attempts: LoginAttemptsTable;
  user_identities: UserIdentitiesTable;
  sessions: SessionsTable;
  hosts: HostsTable;
  credentials: CredentialsTable;
  repos: ReposTable;
  host_repositories: HostRepositoriesTable;
  enrollment_tokens: EnrollmentTokensTable;
  schedules: SchedulesTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  job_logs: JobLogsTable;
  snapshots: SnapshotsTable;
  alerts: AlertsTable;
  audit_log: AuditLogTable;
  notification_channels: NotificationChannelsTable;
  notification_outbox: NotificationOutboxTable;
  oidc_pending: OidcPendingTable;
  leases: LeasesTable;
  cluster_messages: ClusterMessagesTable;
  alert_settings: AlertSettingsTable;
  restore_credentials: RestoreCredentialsTable;
  trend_points: TrendPointsTable;
  fleet_trend: FleetTrendTable;
  host_vaults: HostVaultsTable;
  copy_policies: CopyPoliciesTable;
  copy_policy_runs: CopyPolicyRunsTable;
  snapshot_ledger: SnapshotLedgerTable;
  repository_integrity: RepositoryIntegrityTable;
  restore_drills: RestoreDrillsTable;
  vault_drill_hosts: VaultDrillHostsTable;
}
