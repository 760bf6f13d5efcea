import { randomBytes } from 'node:crypto';

/**
 * Remote layout (keys are relative to the configured prefix):
 *   blobs/<aa>/<id>            age file of concatenated zstd frames; id = SHA-256 of the object
 *   <index_prefix><snap>.age   snapshot metadata (zstd JSON, age-encrypted) — the commit point
 *   <index_prefix><snap>.refs  plaintext: referenced blob ids + metadata hash (for keyless prune/check)
 *   runs/<run>.start|.alive-<n>|.end   create-only markers of one backup run (times only)
 *   prune/<id>.start|.condemned|.seen   written by the trusted prune (run-markers.ts, prune.ts)
 *   locks/<run>.json           legacy: a running backup of an older version (honoured by prune)
 */
export function blobKey(id: string): string {
  return `blobs/${id.slice(0, 2)}/${id}`;
}
export const BLOB_PREFIX = 'blobs/';
export const LOCK_PREFIX = 'locks/';
export const RUN_PREFIX = 'runs/';
export const PRUNE_PREFIX = 'prune/';

/** `YYYYMMDDTHHMMSSZ-<16 hex>`: a backup run or a prune. */
export const MARKER_ID = /^\d{8}T\d{6}Z-[0-9a-f]{16}$/;

export function newMarkerId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}-${randomBytes(8).toString('hex')}`;
}

export function blobIdFromKey(key: string): string | null {
  const m = /^blobs\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  return m ? m[1]! : null;
}

export function metaKey(indexPrefix: string, snap: string): string {
  return `${indexPrefix}${snap}.age`;
}
export function refsKey(indexPrefix: string, snap: string): string {
  return `${indexPrefix}${snap}.refs`;
}

export const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;

export function newSnapshotId(now = new Date()): string {
  const iso = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const rand = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
  return `${iso}-${rand}`;
}

export function snapshotTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  if (!m) return new Date(0);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
