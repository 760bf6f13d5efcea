import type { z } from 'zod';
import type { JobKind } from './common.js';
import { DbRestoreArgs } from './db-restore.js';
import { CopyArgs } from './repository.js';
import { RestoreDrillArgs } from './restore-drill.js';
import { BackupArgs, CheckArgs, EmptyArgs, ForgetArgs, PruneArgs, RestoreArgs } from './server-messages.js';
import { VaultDrillArgs } from './vault-drill.js';
import { VaultBackupArgs, VaultCheckArgs, VaultPruneArgs, VaultSnapshotsArgs } from './vault.js';

/**
 * The one map from a job kind to the schema of its `command.run.args`. The server validates
 * run-now and schedule arguments with it before a job is created, the agent validates what it
 * receives with it, and the web forms map their fields to it. A new job kind is added here (the
 * `Record<JobKind, …>` type makes the compiler ask for it).
 */
export const JOB_ARGS: Record<JobKind, z.ZodType> = {
  init: EmptyArgs, backup: BackupArgs, forget: ForgetArgs, prune: PruneArgs, check: CheckArgs, unlock: EmptyArgs,
  snapshots: EmptyArgs, stats: EmptyArgs, diff: EmptyArgs, restore: RestoreArgs, db_restore: DbRestoreArgs,
  vault_backup: VaultBackupArgs, vault_snapshots: VaultSnapshotsArgs, vault_prune: VaultPruneArgs, vault_check: VaultCheckArgs,
  copy: CopyArgs, restore_drill: RestoreDrillArgs, vault_drill: VaultDrillArgs,
};
