import { z } from 'zod';
import { BandwidthOptions } from './common.js';

/*
 * Restore drills (issue 16, docs/recoverability.md "Restore drills"): a sample of the latest
 * snapshot is restored into a private scratch directory on a drill host, verified against the
 * snapshot (restic `restore --verify` plus sizes) and, on the backed-up host itself, against live
 * files unchanged since the snapshot; the scratch directory is always removed.
 */

/** Files sampled at most per drill (restic's include list travels in argv). */
export const DRILL_MAX_FILES = 1000;
export const DRILL_DEFAULT_FILES = 50;
export const DRILL_DEFAULT_BYTES = 256 * 1024 * 1024;

/** Arguments of a `restore_drill` job (agent side; the server fills them). */
export const RestoreDrillArgs = z
  .object({
    /** The snapshot to drill; absent = the latest snapshot of `hostname` (or of any host). */
    snapshot_id: z.string().min(1).max(64).optional(),
    /** The backed-up host's name as restic records it (the latest snapshot is chosen among its). */
    hostname: z.string().min(1).max(255).optional(),
    /** Files sampled (besides the largest file and one per top-level path, which are always taken). */
    sample_files: z.number().int().min(1).max(DRILL_MAX_FILES).default(DRILL_DEFAULT_FILES),
    /** Bytes sampled at most (the largest file is taken even when it alone is larger). */
    sample_bytes: z.number().int().min(1).max(2 ** 50).default(DRILL_DEFAULT_BYTES),
    /** The sampling seed: the same seed and snapshot sample the same files. */
    seed: z.string().min(1).max(64).default('restic-manager'),
    /** Compare restored files with live files unchanged since the snapshot (only on the backed-up host). */
    compare_live: z.boolean().default(false),
  })
  .merge(BandwidthOptions)
  .strict();
export type RestoreDrillArgs = z.infer<typeof RestoreDrillArgs>;

/** What a successful (or failed, as far as it got) drill reports in `job.finished.stats`. */
export interface RestoreDrillStats {
  snapshot_id: string;
  snapshot_time: string;
  files: number;
  bytes: number;
  /** The whole drill (listing, restore, checks), seconds. */
  duration_seconds: number;
  /** Choosing the snapshot and listing it (restic snapshots + ls), seconds. */
  list_seconds: number;
  /** restic restore alone, seconds. */
  restore_seconds: number;
  /** The size checks and the live comparison after the restore, seconds. */
  check_seconds: number;
  /** bytes / restore_seconds. */
  throughput_bps: number;
  snapshot_files: number;
  snapshot_bytes: number;
  /** snapshot_bytes / throughput_bps: how long restoring the whole snapshot would take. */
  rto_seconds: number;
  live_compared: number;
  seed: string;
}

/** `POST /api/hosts/:id/restore-drills`: drill the host's latest snapshot now. */
export const RestoreDrillRequest = z
  .object({
    /** Where the sample is restored: another enrolled host (cross-host, temporary key); absent = the host itself. */
    drill_host_id: z.string().min(1).max(64).optional(),
    sample_files: z.number().int().min(1).max(DRILL_MAX_FILES).optional(),
    sample_bytes: z.number().int().min(1).max(2 ** 50).optional(),
    seed: z.string().min(1).max(64).optional(),
  })
  .strict();
export type RestoreDrillRequest = z.infer<typeof RestoreDrillRequest>;

/** `POST /api/restore-drills`: drill every enrolled host with this tag now (each on itself, or all on `drill_host_id`). */
export const RestoreDrillTagRequest = RestoreDrillRequest.extend({ tag: z.string().min(1).max(64) }).strict();
export type RestoreDrillTagRequest = z.infer<typeof RestoreDrillTagRequest>;

/** One drill as the API shows it. */
export const RestoreDrillView = z.object({
  job_id: z.string(),
  host_id: z.string(),
  drill_host_id: z.string(),
  repository_id: z.string().nullable(),
  engine: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  snapshot_id: z.string().nullable(),
  files: z.number().int().nullable(),
  bytes: z.number().nullable(),
  duration_seconds: z.number().nullable(),
  throughput_bps: z.number().nullable(),
  rto_seconds: z.number().nullable(),
  error: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});
export type RestoreDrillView = z.infer<typeof RestoreDrillView>;

/** `GET /api/hosts/:id/restore-drills`: the last proven restore and recent drills. */
export const RestoreDrillSummary = z.object({
  last_success: RestoreDrillView.nullable(),
  recent: z.array(RestoreDrillView),
  /** The host's vault target: none, proven by a successful vault drill, or unproven (`vault_reason` says why). */
  vault: z.enum(['none', 'unproven', 'proven']),
  /** Why vault restores are unproven (no trusted host with a matching identity, no drill yet, the last one failed). */
  vault_reason: z.string().optional(),
});
export type RestoreDrillSummary = z.infer<typeof RestoreDrillSummary>;
