import { z } from 'zod';
import { DOWNLOAD_MAX_WINDOW } from './download-wire.js';

/*
 * Downloads from a snapshot (issue 16, docs/protocol.md "Downloads"): the server asks the agent to
 * stream one file or folder of a snapshot (`restic dump`). The agent answers `download.ready`
 * (what the path is and how large) or `download.end` with an error; then sends the bytes as binary
 * chunk frames (download-wire.ts), never more than the server granted in credit, and finally
 * `download.end`. None of it is journalled, replayed or acknowledged.
 */

const requestId = z.string().min(1).max(64);

/** How a download is delivered: a file's bytes (`raw`), or a folder as a tar or zip archive. */
export const DownloadFormat = z.enum(['raw', 'tar', 'zip']);
export type DownloadFormat = z.infer<typeof DownloadFormat>;

/** Server -> agent: stream `path` of `snapshot_id`; `window` chunks may be sent before more credit. */
export const DownloadStart = z.object({
  type: z.literal('download.start'),
  request_id: requestId,
  snapshot_id: z.string().regex(/^[0-9a-f]{8,64}$/, 'a snapshot id is 8 to 64 hex digits'),
  /** Absolute path inside the snapshot; `/` is the whole snapshot. */
  path: z.string().min(1).max(4096).regex(/^\//, 'path must be absolute'),
  format: DownloadFormat,
  /** Largest total of file sizes the agent may send; 0 = no limit. */
  max_bytes: z.number().int().nonnegative(),
  window: z.number().int().min(1).max(DOWNLOAD_MAX_WINDOW),
});
export type DownloadStart = z.infer<typeof DownloadStart>;

/** Server -> agent: the browser took `chunks` more chunks; the agent may send that many more. */
export const DownloadCredit = z.object({
  type: z.literal('download.credit'),
  request_id: requestId,
  chunks: z.number().int().min(1).max(DOWNLOAD_MAX_WINDOW),
});
export type DownloadCredit = z.infer<typeof DownloadCredit>;

/** Server -> agent: stop (the browser went away, or the server gave up); the agent stops restic. */
export const DownloadCancel = z.object({
  type: z.literal('download.cancel'),
  request_id: requestId,
});
export type DownloadCancel = z.infer<typeof DownloadCancel>;

/** Agent -> server: the path exists and is within the limit; chunks follow. */
export const DownloadReady = z.object({
  type: z.literal('download.ready'),
  request_id: requestId,
  kind: z.enum(['file', 'dir']),
  /** Sum of the sizes of the files at or below the path (a file: its size). */
  size: z.number().int().nonnegative(),
  /** Entries at or below the path (files, folders, links…). */
  entries: z.number().int().nonnegative(),
});
export type DownloadReady = z.infer<typeof DownloadReady>;

export const DownloadErrorKind = z.enum(['unknown_snapshot', 'not_found', 'too_large', 'not_a_file', 'no_credentials', 'unsupported', 'cancelled', 'failed']);
export type DownloadErrorKind = z.infer<typeof DownloadErrorKind>;

/** Agent -> server: the last frame of a download, after its last chunk. */
export const DownloadEnd = z.object({
  type: z.literal('download.end'),
  request_id: requestId,
  /** Payload bytes sent in chunks, and how many chunks. */
  bytes: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  error: z.string().max(4000).nullable().default(null),
  error_kind: DownloadErrorKind.nullable().default(null),
  /** With `too_large`: the path's size, so the server can name it. */
  size: z.number().int().nonnegative().nullable().default(null),
});
export type DownloadEnd = z.infer<typeof DownloadEnd>;

/**
 * `GET /api/hosts/{id}/snapshots/{snapshot_id}/download` query: the path inside the snapshot,
 * and how a folder is packed (a file always comes as itself; `raw` refuses a folder).
 */
export const DownloadQuery = z.object({
  path: z.string().min(1).max(4096),
  format: DownloadFormat.default('tar'),
});
export type DownloadQuery = z.infer<typeof DownloadQuery>;
