import { z } from 'zod';

/*
 * Request/response frames on the agent socket (additive to protocol 1). The server sends a
 * request with a fresh `request_id`; the agent answers with exactly one result frame carrying
 * the same id. These are not job reports: they are not journalled in the outbox, not replayed
 * and not acknowledged. An agent that predates them ignores the request, so the server gives up
 * after its timeout with a clear error.
 */

const requestId = z.string().min(1).max(64);
const snapshotId = z.string().regex(/^[0-9a-f]{8,64}$/, 'a snapshot id is 8 to 64 hex digits');
/** Largest page of `snapshot.ls` (entries per answer). */
export const MAX_LS_PAGE = 500;

/** Server -> agent: list the direct children of one directory of a snapshot. */
export const SnapshotLs = z.object({
  type: z.literal('snapshot.ls'),
  request_id: requestId,
  snapshot_id: snapshotId,
  /** Absolute directory inside the snapshot; `/` is the snapshot's root. */
  path: z.string().min(1).max(4096).regex(/^\//, 'path must be absolute'),
  limit: z.number().int().min(1).max(MAX_LS_PAGE),
  offset: z.number().int().min(0),
});
export type SnapshotLs = z.infer<typeof SnapshotLs>;

export const LsEntryType = z.enum(['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'other']);

/** One direct child of the listed directory. */
export const SnapshotLsEntry = z.object({
  name: z.string().max(4096),
  type: LsEntryType,
  size: z.number().int().nonnegative().nullable(),
  mtime: z.string().max(64).nullable(),
  /** POSIX permission bits (e.g. 0o644 = 420), without the file-type bits; null when unknown. */
  mode: z.number().int().nonnegative().nullable(),
});
export type SnapshotLsEntry = z.infer<typeof SnapshotLsEntry>;

/** Why a listing failed, for the server to pick a status. */
export const LsErrorKind = z.enum(['unknown_snapshot', 'not_found', 'no_credentials', 'failed']);
export type LsErrorKind = z.infer<typeof LsErrorKind>;

/** Agent -> server: one page of the directory, or an error. */
export const SnapshotLsResult = z.object({
  type: z.literal('snapshot.ls.result'),
  request_id: requestId,
  entries: z.array(SnapshotLsEntry).max(MAX_LS_PAGE).default([]),
  /** True when entries exist after this page. */
  has_more: z.boolean().default(false),
  error: z.string().max(4000).nullable().default(null),
  error_kind: LsErrorKind.nullable().default(null),
});
export type SnapshotLsResult = z.infer<typeof SnapshotLsResult>;

/**
 * Server -> agent: add a temporary key (password chosen by the server) to this host's own
 * repository, for a cross-host restore of `job_id` on another host. The agent registers the
 * password as a secret (never logged) and does not store it.
 */
export const RepoKeyAdd = z.object({
  type: z.literal('repo.key.add'),
  request_id: requestId,
  job_id: z.string().min(1).max(64),
  password: z.string().min(16).max(1024),
});
export type RepoKeyAdd = z.infer<typeof RepoKeyAdd>;

/**
 * Server -> agent: remove a key from this host's own repository (the temporary one). An
 * append-only REST repository refuses deletes, so the server may send the repository's
 * maintenance credential to use for this removal only (never stored by the agent).
 */
export const RepoKeyRemove = z.object({
  type: z.literal('repo.key.remove'),
  request_id: requestId,
  job_id: z.string().min(1).max(64),
  key_id: z.string().regex(/^[0-9a-f]{8,64}$/),
  credential: z.object({
    repository: z.string().min(1), password: z.string().min(1), rest_username: z.string().optional(), rest_password: z.string().optional(),
  }).optional(),
});
export type RepoKeyRemove = z.infer<typeof RepoKeyRemove>;

/** Agent -> server: outcome of `repo.key.add` (with the new key's id) or `repo.key.remove`. */
export const RepoKeyResult = z.object({
  type: z.literal('repo.key.result'),
  request_id: requestId,
  key_id: z.string().max(64).nullable().default(null),
  error: z.string().max(4000).nullable().default(null),
});
export type RepoKeyResult = z.infer<typeof RepoKeyResult>;
