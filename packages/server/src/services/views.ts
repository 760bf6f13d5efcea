import { appendOnlyEnforceable } from '@restic-manager/protocol';
import type { DatabaseView, HostView, JobView, RepoView, WindowSetInput } from '@restic-manager/protocol';
import type { HostRow } from '../repositories/host.repository.js';
import type { JobRow } from '../repositories/job.repository.js';
import type { RepoRow } from '../repositories/repo.repository.js';
import type { ScheduleRow } from '../repositories/schedule.repository.js';
import type { SnapshotRow } from '../repositories/snapshot.repository.js';
import { SERVER_VERSION } from '../version.js';
import { agentVersionStatus } from './agent-version.js';
import { repoLockFields } from './repo-locks.js';

/* Row -> API view mappers. Views never include `_enc` columns or token hashes. */

const json = <T>(s: string | null, fallback: T): T => (s == null ? fallback : (JSON.parse(s) as T));

export const hostView = (h: HostRow): HostView => ({
  id: h.id,
  name: h.name,
  hostname: h.hostname,
  os: h.os,
  arch: h.arch,
  agent_version: h.agent_version,
  restic_version: h.restic_version,
  protocol_version: h.protocol_version,
  enrolled_at: h.enrolled_at,
  last_seen_at: h.last_seen_at,
  status: h.status,
  repo_id: h.repo_id,
  tags: json<string[]>(h.tags, []),
  current_job_id: h.current_job_id,
  last_backup_at: h.last_backup_at,
  last_backup_status: h.last_backup_status,
  last_vault_backup_at: h.last_vault_backup_at,
  last_vault_backup_status: h.last_vault_backup_status,
  repo_size_bytes: h.repo_size_bytes,
  snapshot_count: h.snapshot_count,
  open_alert_count: h.open_alert_count,
  schedule_version: h.schedule_version,
  applied_schedule_version: h.applied_schedule_version,
  repo_initialised_at: h.repo_initialised_at,
  time_zone: h.time_zone,
  credential_rotation: h.credential_rotation_since ? { since: h.credential_rotation_since, reason: h.credential_rotation_reason ?? '' } : null,
  agent_version_status: agentVersionStatus(h.agent_version, SERVER_VERSION),
});

export const jobView = (j: JobRow): JobView => ({
  id: j.id,
  host_id: j.host_id,
  kind: j.kind as JobView['kind'],
  status: j.status,
  schedule_id: j.schedule_id,
  actor_kind: j.actor_kind,
  actor_id: j.actor_id,
  created_at: j.created_at,
  started_at: j.started_at,
  finished_at: j.finished_at,
  exit_code: j.exit_code,
  stats: json<Record<string, unknown> | null>(j.stats, null),
  error: j.error,
  error_kind: j.error_kind,
  progress: json<Record<string, unknown> | null>(j.progress, null),
});

/** `now` ages the locks (and turns a lock older than restic's stale age stale). */
export const repoView = (r: RepoRow, restUsername: string | null, now: number): RepoView => ({
  id: r.id,
  name: r.name,
  url: r.url,
  kind: r.kind,
  size_bytes: r.size_bytes,
  snapshot_count: r.snapshot_count,
  dedup_ratio: r.dedup_ratio,
  last_check_at: r.last_check_at,
  last_check_status: r.last_check_status,
  ...repoLockFields(r, now),
  append_only: r.append_only === 1 && appendOnlyEnforceable(r.url), // a flag stored for a local path enforces nothing
  credential_rotated_at: r.credential_rotated_at,
  has_password: r.password_secret_id != null,
  rest_username: restUsername,
});

export const snapshotView = (s: SnapshotRow) => ({
  id: s.id,
  short_id: s.short_id,
  host_id: s.host_id,
  repo_id: s.repo_id,
  time: s.time,
  hostname: s.hostname,
  paths: json<string[]>(s.paths, []),
  tags: json<string[]>(s.tags, []),
  size_bytes: s.size_bytes,
  file_count: s.file_count,
});

export const scheduleView = (s: ScheduleRow, databases: DatabaseView[] = []) => ({
  id: s.id,
  host_id: s.host_id,
  kind: s.kind,
  cron_expr: s.cron_expr,
  time_zone: s.time_zone,
  enabled: s.enabled === 1,
  paths: json<string[]>(s.paths, []),
  excludes: json<string[]>(s.excludes, []),
  tags: json<string[]>(s.tags, []),
  retention_policy: json<Record<string, unknown> | null>(s.retention_policy, null),
  options: json<Record<string, number>>(s.options, {}),
  has_pre_hook: s.pre_hook_enc != null,
  has_post_hook: s.post_hook_enc != null,
  run_as: s.run_as,
  databases,
  repository_id: s.repository_id,
  read_data_subset: s.read_data_subset ?? null,
  read_data_rotation: s.read_data_rotation ?? null,
  drill_host_id: s.drill_host_id ?? null,
  has_healthcheck_url: s.healthcheck_url_enc != null,
  stop_containers: json<string[]>(s.stop_containers ?? null, []),
  windows: json<{ windows: WindowSetInput['windows']; blackouts: WindowSetInput['blackouts'] } | null>(s.windows ?? null, null),
  created_at: s.created_at,
  updated_at: s.updated_at,
});
