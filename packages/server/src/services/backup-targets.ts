/**
 * A host has up to two backup targets (decision server-0008): its restic repository and its
 * vault. Each has its own last-backup projection on the host row; the alerts `backup_failed`,
 * `check_failed` and `backup_overdue` are shared (one per host and kind) and their messages start
 * with "vault " when they are about the vault, which is how a later event tells which target an
 * open alert is about.
 */
export type BackupTarget = 'restic' | 'vault';

type Finished = 'succeeded' | 'failed' | 'cancelled';
interface LastBackupPatch {
  last_backup_at?: string;
  last_backup_status?: Finished;
  last_vault_backup_at?: string;
  last_vault_backup_status?: Finished;
}

/** The job kinds that back up, and the check kinds, per target. */
export const BACKUP_KIND: Record<BackupTarget, string> = { restic: 'backup', vault: 'vault_backup' };
export const CHECK_KIND: Record<BackupTarget, string> = { restic: 'check', vault: 'vault_check' };

/** The target a backup or check job kind belongs to; null for every other kind. */
export function targetOfKind(kind: string): BackupTarget | null {
  if (kind === 'backup' || kind === 'check') return 'restic';
  if (kind === 'vault_backup' || kind === 'vault_check') return 'vault';
  return null;
}

/** The host columns a finished job of `kind` sets; null when the kind is no backup. */
export function lastBackupPatch(kind: string, at: string, status: Finished): LastBackupPatch | null {
  if (kind === 'backup') return { last_backup_at: at, last_backup_status: status };
  if (kind === 'vault_backup') return { last_vault_backup_at: at, last_vault_backup_status: status };
  return null;
}

/** Which target an alert message written by the triggers is about. */
export function targetOfMessage(message: string): BackupTarget {
  return message.startsWith('vault ') ? 'vault' : 'restic';
}

export const otherTarget = (t: BackupTarget): BackupTarget => (t === 'vault' ? 'restic' : 'vault');
