import { z } from 'zod';
import { RetentionPolicy } from './common.js';

/*
 * Read-only inspection requests (issue 16): "what changed" between two snapshots
 * (`snapshot.diff`) and "what would this retention policy remove" (`forget.preview`). Request
 * frames like `snapshot.ls` (see requests.ts): one answer per request, never journalled. Both act
 * on the agent's own repository with its routine credentials and never modify it.
 */

const requestId = z.string().min(1).max(64);
const snapshotId = z.string().regex(/^[0-9a-f]{8,64}$/, 'a snapshot id is 8 to 64 hex digits');
const count = z.number().int().nonnegative();

/** Largest page of `snapshot.diff` (changed paths per answer). */
export const MAX_DIFF_PAGE = 500;
/** Most snapshots listed in one `forget.preview.result` (kept and removed together); the counts stay exact. */
export const MAX_PREVIEW_SNAPSHOTS = 1000;

/** Server -> agent: `restic diff --json <from> <to>`; one page of the changes plus restic's statistics. */
export const SnapshotDiff = z.object({
  type: z.literal('snapshot.diff'),
  request_id: requestId,
  /** The older side ("before"); changes read as from -> to. */
  from_snapshot_id: snapshotId,
  to_snapshot_id: snapshotId,
  limit: z.number().int().min(1).max(MAX_DIFF_PAGE),
  offset: z.number().int().min(0),
});
export type SnapshotDiff = z.infer<typeof SnapshotDiff>;

/**
 * One changed path, as restic prints it: `+` added, `-` removed, `M` content modified, `T` type
 * changed, `U` metadata only (newer restic), `?` bitrot. Directories end with `/`.
 */
export const DiffChange = z.object({
  modifier: z.string().regex(/^[+\-MTU?]{1,4}$/, 'a restic diff modifier'),
  path: z.string().min(1).max(4096),
});
export type DiffChange = z.infer<typeof DiffChange>;

/** restic's `added` / `removed` statistics of a diff (bytes of data blobs). */
export const DiffSide = z.object({ files: count, dirs: count, others: count, bytes: count });
export type DiffSide = z.infer<typeof DiffSide>;

export const DiffErrorKind = z.enum(['unknown_snapshot', 'no_credentials', 'failed']);
export type DiffErrorKind = z.infer<typeof DiffErrorKind>;

/** Agent -> server: one page of changed paths and the whole diff's statistics, or an error. */
export const SnapshotDiffResult = z.object({
  type: z.literal('snapshot.diff.result'),
  request_id: requestId,
  changes: z.array(DiffChange).max(MAX_DIFF_PAGE).default([]),
  /** True when changes exist after this page (the page may be short to fit one frame). */
  has_more: z.boolean().default(false),
  /** Change lines of the whole diff (every page). */
  total_changes: count.nullable().default(null),
  /** restic's `changed_files` (files whose content changed). */
  changed_files: count.nullable().default(null),
  added: DiffSide.nullable().default(null),
  removed: DiffSide.nullable().default(null),
  error: z.string().max(4000).nullable().default(null),
  error_kind: DiffErrorKind.nullable().default(null),
});
export type SnapshotDiffResult = z.infer<typeof SnapshotDiffResult>;

/** Server -> agent: `restic forget --dry-run --no-lock --json` with this policy (and tag filter, as a forget job would). */
export const ForgetPreview = z.object({
  type: z.literal('forget.preview'),
  request_id: requestId,
  policy: RetentionPolicy,
  /** Only snapshots having all these tags, like `ForgetArgs.tags`. */
  tags: z.array(z.string().min(1).max(256)).max(32).optional(),
});
export type ForgetPreview = z.infer<typeof ForgetPreview>;

/** One snapshot of a preview, with restic's reasons for keeping it (empty for a removed one). */
export const PreviewSnapshot = z.object({
  id: z.string().regex(/^[0-9a-f]{8,64}$/),
  time: z.string().max(64),
  hostname: z.string().max(256),
  paths: z.array(z.string().max(4096)).max(64),
  tags: z.array(z.string().max(256)).max(64),
  /** The engine's words, verbatim: restic's "daily snapshot", "last snapshot", "within 30d", "has tags [a]"…; rustic's "daily", "within", "tags"… */
  reasons: z.array(z.string().max(256)).max(16),
});
export type PreviewSnapshot = z.infer<typeof PreviewSnapshot>;

/** Agent -> server: which snapshots the policy keeps and removes; nothing was removed. */
export const ForgetPreviewResult = z.object({
  type: z.literal('forget.preview.result'),
  request_id: requestId,
  keep: z.array(PreviewSnapshot).max(MAX_PREVIEW_SNAPSHOTS).default([]),
  remove: z.array(PreviewSnapshot).max(MAX_PREVIEW_SNAPSHOTS).default([]),
  /** Exact counts; larger than the lists when these were cut to fit. */
  keep_count: count.default(0),
  remove_count: count.default(0),
  error: z.string().max(4000).nullable().default(null),
  error_kind: z.enum(['no_credentials', 'failed']).nullable().default(null),
});
export type ForgetPreviewResult = z.infer<typeof ForgetPreviewResult>;

/** A RetentionPolicy rule, named like its field. */
export const RetentionRule = z.enum(['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly', 'keep_within', 'keep_tag']);
export type RetentionRule = z.infer<typeof RetentionRule>;

/**
 * The policy rule behind one keep reason: restic's words ("daily snapshot", "within 30d", "has
 * tags [a]") or rustic's ("daily", "within", "tags"); null for a reason this build does not know.
 */
export function ruleOfReason(reason: string): RetentionRule | null {
  const r = reason.trim().toLowerCase();
  const unit = /^(last|hourly|daily|weekly|monthly|yearly)( snapshot)?$/.exec(r)?.[1];
  if (unit) return `keep_${unit}` as RetentionRule;
  if (r === 'within' || /^within [0-9]/.test(r)) return 'keep_within';
  if (r === 'tags' || /^has tags? /.test(r)) return 'keep_tag';
  return null;
}

/** `GET /api/hosts/:id/snapshots/:snapshot_id/diff` */
export const SnapshotDiffQuery = z.object({
  /** `parent` (the previous snapshot of the same host and paths) or another snapshot's id. */
  against: z.union([z.literal('parent'), z.string().regex(/^[0-9a-fA-F]{8,64}$/, 'against is "parent" or a snapshot id (8 to 64 hex digits)')]).default('parent'),
  limit: z.coerce.number().int().min(1).max(MAX_DIFF_PAGE).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type SnapshotDiffQuery = z.infer<typeof SnapshotDiffQuery>;

const SnapshotRef = z.object({ id: z.string(), short_id: z.string(), time: z.string() });
export const SnapshotDiffView = z.object({
  /** The older side. */
  from: SnapshotRef,
  /** The snapshot of the URL. */
  to: SnapshotRef,
  changed_files: count,
  added: DiffSide,
  removed: DiffSide,
  total_changes: count,
  changes: z.array(DiffChange),
  limit: z.number().int(),
  offset: z.number().int(),
  has_more: z.boolean(),
});
export type SnapshotDiffView = z.infer<typeof SnapshotDiffView>;

/** `POST /api/hosts/:id/forget/preview`: the same policy and tag filter a forget schedule carries. */
export const ForgetPreviewRequest = z.object({
  policy: RetentionPolicy,
  tags: z.array(z.string().min(1).max(256)).max(32).optional(),
}).strict();
export type ForgetPreviewRequest = z.infer<typeof ForgetPreviewRequest>;

const PreviewSnapshotView = PreviewSnapshot.extend({
  short_id: z.string(),
  /** The policy rules behind `reasons` (same order; null where restic's reason is unknown to this build). */
  rules: z.array(RetentionRule.nullable()),
});
export const ForgetPreviewView = z.object({
  keep: z.array(PreviewSnapshotView),
  remove: z.array(PreviewSnapshotView),
  keep_count: count,
  remove_count: count,
  /** True when the lists were cut (MAX_PREVIEW_SNAPSHOTS); the counts are exact. */
  truncated: z.boolean(),
});
export type ForgetPreviewView = z.infer<typeof ForgetPreviewView>;
