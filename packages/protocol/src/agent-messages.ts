import { z } from 'zod';
import { ErrorKind, JobKind, JobStatus, SnapshotInfo } from './common.js';
import { RepoKeyResult, SnapshotLsResult } from './requests.js';
import { ForgetPreviewResult, SnapshotDiffResult } from './inspect.js';
import { VaultSnapshotsReport } from './vault.js';
import { VaultIdentityStatus } from './vault-drill.js';
import { RepoLockReport } from './locks.js';
import { DatabaseEngine } from './server-messages.js';
import { RepoTestResultFrame } from './repository.js';
import { DownloadEnd, DownloadReady } from './download.js';

/*
 * Agent -> server frames (spec §6.2). Every frame is one JSON object with a `type`.
 * Frames about a job carry `job_id`; job event frames carry a per-job `seq` so that a replay
 * after reconnect is idempotent on the server (duplicate `(job_id, seq)` pairs are ignored).
 */

const iso = z.string().datetime({ offset: true });
const jobId = z.string().min(1).max(64);
const seq = z.number().int().nonnegative();
/**
 * Position of a report in the agent's on-disk outbox (strictly increasing in send order).
 * Optional: a server that announces `outbox_acks` answers `ack` with the highest one it has
 * durably applied, and the agent trims its outbox only then. Absent on agents that predate it.
 */
const outboxSeq = z.number().int().positive().optional();

export const AgentHello = z.object({
  type: z.literal('hello'),
  protocol_version: z.number().int().positive(),
  agent_version: z.string().max(64),
  restic_version: z.string().max(64).nullable(),
  hostname: z.string().max(255),
  os: z.string().max(64),
  arch: z.string().max(64),
  time_zone: z.string().max(64).optional(),
  /** The schedule version the agent is running (last-known-good), if any. */
  applied_schedule_version: z.number().int().nonnegative().optional(),
  /** Jobs the agent is still running (or has queued) — lets the server fail jobs it lost. */
  active_job_ids: z.array(jobId).max(1000).default([]),
  /**
   * What this agent can do beyond protocol 1 (additive): `databases` = backup args.databases and
   * ScheduleSpec.databases. Absent on older agents.
   */
  features: z.array(z.string().max(32)).max(32).optional(),
  /**
   * Additive (issue 16, docs/recoverability.md "Vault drills"): whether this agent holds an age
   * identity for vault drills — only its public recipient, or why the identity file is refused.
   * Absent = no identity file is configured. The identity itself never leaves the host.
   */
  vault_identity: VaultIdentityStatus.optional(),
});

export const Heartbeat = z.object({
  type: z.literal('heartbeat'),
  ts: iso,
  running_job_ids: z.array(jobId).max(1000).default([]),
});

export const JobQueued = z.object({
  type: z.literal('job.queued'),
  outbox_seq: outboxSeq,
  job_id: jobId,
  seq,
  kind: JobKind,
  /** Set when the agent's local scheduler created the job (no prior server job row). */
  schedule_id: z.string().max(64).optional(),
  reason: z.string().max(500).optional(),
  queued_at: iso,
  /** Additive (issue 21): the job waits for the server's `slot.grant` (a capped schedule) before it starts. */
  awaiting_slot: z.boolean().optional(),
});

export const JobStarted = z.object({
  type: z.literal('job.started'),
  outbox_seq: outboxSeq,
  job_id: jobId,
  seq,
  kind: JobKind,
  schedule_id: z.string().max(64).optional(),
  started_at: iso,
});

export const JobProgress = z.object({
  type: z.literal('job.progress'),
  outbox_seq: outboxSeq,
  job_id: jobId,
  seq,
  percent_done: z.number().min(0).max(1),
  files_done: z.number().int().nonnegative(),
  total_files: z.number().int().nonnegative().nullable(),
  bytes_done: z.number().int().nonnegative(),
  total_bytes: z.number().int().nonnegative().nullable(),
  eta_seconds: z.number().nonnegative().nullable(),
  throughput_bps: z.number().nonnegative().nullable(),
  current_files: z.array(z.string().max(4096)).max(16).default([]),
});

export const JobFinished = z.object({
  type: z.literal('job.finished'),
  outbox_seq: outboxSeq,
  job_id: jobId,
  seq,
  status: JobStatus.exclude(['queued', 'running']),
  exit_code: z.number().int().nullable(),
  stats: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().max(4000).nullable(),
  error_kind: ErrorKind.nullable().default(null),
  finished_at: iso,
});

export const LogStream = z.object({
  type: z.literal('log.stream'),
  outbox_seq: outboxSeq,
  job_id: jobId,
  seq,
  ts: iso,
  stream: z.enum(['stdout', 'stderr', 'event']),
  payload: z.string().max(64 * 1024),
});

export const SnapshotsReport = z.object({
  type: z.literal('snapshots.report'),
  outbox_seq: outboxSeq,
  job_id: jobId.optional(),
  snapshots: z.array(SnapshotInfo).max(100_000),
});

export const RepoStats = z.object({
  type: z.literal('repo.stats'),
  outbox_seq: outboxSeq,
  job_id: jobId.optional(),
  size_bytes: z.number().int().nonnegative().nullable(),
  snapshot_count: z.number().int().nonnegative().nullable(),
  dedup_ratio: z.number().nonnegative().nullable(),
  last_check_at: iso.nullable().optional(),
  last_check_status: z.enum(['succeeded', 'failed']).nullable().optional(),
  lock_state: z.enum(['locked', 'unlocked']).nullable().optional(),
  /**
   * The repository's locks (`restic list locks` + `cat lock`, with --no-lock), listed after
   * every job; absent = not listed this time (the server keeps the previous list).
   */
  locks: z.array(RepoLockReport).max(1000).optional(),
  /**
   * The repository's key ids (`restic key list --json`), full or short hex; absent = not listed
   * this time. Optional and additive (issue 16): the server compares them with the previous
   * listing and raises `repository_keys_changed` on a change it did not make itself.
   */
  key_ids: z.array(z.string().regex(/^[0-9a-f]{8,64}$/)).max(1000).optional(),
  /** The repository's config id (`restic cat config`, field `id`); absent = not read this time. */
  config_id: z.string().regex(/^[0-9a-f]{8,64}$/).optional(),
});

const engine = DatabaseEngine;
/** A volume or bind mount of a running container, as a path on the host. */
export const ContainerVolume = z.object({
  container: z.string().max(256),
  type: z.enum(['volume', 'bind']),
  /** The volume's name (null for a bind mount). */
  name: z.string().max(256).nullable(),
  source: z.string().max(4096),
  destination: z.string().max(4096),
  read_only: z.boolean(),
});
export type ContainerVolume = z.infer<typeof ContainerVolume>;
/**
 * What `discover-databases` found on the host (docs/databases.md), sent after hello when the
 * server announced `databases_report`. The latest report replaces the previous one; never
 * carries passwords (`password_env` names the container variable holding one).
 */
export const DatabasesReport = z.object({
  type: z.literal('databases.report'),
  discovered_at: iso,
  local: z.array(z.object({ engine, via: z.string().max(1024), host: z.string().max(1024), port: z.number().int().min(0).max(65535) })).max(64),
  containers: z.array(z.object({
    engine, container: z.string().max(256), container_id: z.string().max(128), image: z.string().max(512),
    user: z.string().max(256).nullable(), database: z.string().max(256).nullable(), password_env: z.string().max(128).nullable(),
    published_port: z.number().int().min(0).max(65535).nullable(),
  })).max(500),
  docker_error: z.string().max(2048).nullable(),
  /**
   * Additive: the named volumes and bind mounts of running containers (docs/databases.md
   * "Volumes"), offered as backup paths. `source` is the path on the host.
   */
  volumes: z.array(ContainerVolume).max(1000).optional(),
});
export type DatabasesReport = z.infer<typeof DatabasesReport>;

export const ScheduleAck = z.object({
  type: z.literal('schedule.ack'),
  schedule_version: z.number().int().nonnegative(),
});

export const AgentMessage = z.discriminatedUnion('type', [
  AgentHello, Heartbeat, JobQueued, JobStarted, JobProgress, JobFinished, LogStream,
  SnapshotsReport, RepoStats, ScheduleAck, DatabasesReport, SnapshotLsResult, RepoKeyResult, VaultSnapshotsReport, RepoTestResultFrame,
  SnapshotDiffResult, ForgetPreviewResult, DownloadReady, DownloadEnd,
]);
export type AgentMessage = z.infer<typeof AgentMessage>;
export type AgentHello = z.infer<typeof AgentHello>;
/** `hello.features` values. */
export const AGENT_FEATURE_DATABASES = 'databases';
/** The agent runs vault_* jobs (command.run.vault) and sends vault.snapshots.report. */
export const AGENT_FEATURE_VAULT = 'vault';
export type Heartbeat = z.infer<typeof Heartbeat>;
export type JobQueued = z.infer<typeof JobQueued>;
export type JobStarted = z.infer<typeof JobStarted>;
export type JobProgress = z.infer<typeof JobProgress>;
export type JobFinished = z.infer<typeof JobFinished>;
export type LogStream = z.infer<typeof LogStream>;
export type SnapshotsReport = z.infer<typeof SnapshotsReport>;
export type RepoStats = z.infer<typeof RepoStats>;
export type ScheduleAck = z.infer<typeof ScheduleAck>;
