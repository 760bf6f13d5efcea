/**
 * `@restic-manager/server/controlplane`: what the `restic-manager server backup | restore |
 * recovery-kit` commands need from the server without starting it (docs/operations.md).
 */
export { checkCounts, combineShares, kitIdOf, parseShare, RecoveryKitError, splitKey, type RecoveryShare } from './controlplane/recovery-kit.js';
export { exportRepositories, EXPORT_FORMAT, resticEnv, type ExportedRepository, type RepositoryExport } from './controlplane/repository-export.js';
export { openStoreView, readSecretKey, SQLITE_FILE, type ServerPaths, type StoreView } from './controlplane/store-access.js';
export { backupSqlite, checkSqlite, DUMP_FILES, dumpPostgres, pgConnection, restorePostgres } from './controlplane/db-snapshot.js';
export { backupControlPlane, parseRecipients, RecipientError, type ControlPlaneBackupOptions, type ControlPlaneBackupResult } from './controlplane/backup.js';
export { MANIFEST_FILE, MANIFEST_FORMAT, parseManifest, SNAPSHOT_TAG, type Manifest } from './controlplane/manifest.js';
export { restic, resticOk, type ResticResult, type ResticTarget } from './controlplane/restic-run.js';
