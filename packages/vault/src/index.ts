/**
 * @restic-manager/vault — the zero-trust backup engine: the backed-up host holds only
 * an age public key; only the holder of the private key can restore.
 */
export * as age from './age/index.js';
export { X25519Identity, X25519Recipient } from './age/index.js';
export { loadConfig, parseConfig, ConfigError, DEFAULTS, type VaultConfig, type S3Settings, type SnapshotSource } from './config.js';
export { Chunker, chunkerParams, type ChunkerParams } from './chunker.js';
export { LocalStorage, openS3Storage, StorageError, type Storage, type ObjectInfo, type S3StorageOptions, type StagedObject } from './storage/index.js';
export { backup, backupAll, BackupAbortedError, type BackupOptions, type BackupProgress, type BackupResult } from './backup.js';
export { restore, loadSnapshot, type RestoreOptions, type RestoreResult } from './restore.js';
export { parseSize, parseDuration, formatBytes } from './units.js';
export type { SnapshotMeta, Entry } from './snapshot.js';
export { fetchPath, type FetchOptions } from './fetch.js';
export { prune, PruneRefusedError, DEFAULT_GRACE_MS, type PruneOptions, type PruneResult } from './prune.js';
export { check, type CheckOptions, type CheckResult, type CheckProblem } from './check.js';
export { listSnapshots, type SnapshotListing } from './repo.js';
export { LocalLockError } from './local-lock.js';
export { LeaseLapsedError, type LeaseTiming } from './run-markers.js';
export { applyRetention, type RetentionPolicy } from './retention.js';
export { selfTest } from './self-test.js';
export { decodeName, fsPath } from './raw-path.js';
