/** How `vault backup` (one run or each daemon run) reports a finished backup: a summary line or JSON, warnings, exit status. */
import { formatBytes, type BackupResult } from '@restic-manager/vault';
import { printJson, VAULT_EXIT } from './common.js';
import type { ProgressMode } from './progress.js';

function summaryLine(r: BackupResult): string {
  return `snapshot ${r.snapshotId}${r.name ? ` (${r.name})` : ''} saved: ${r.files} files, ${formatBytes(r.bytes)}; read ${r.filesRead} changed files (${formatBytes(r.bytesRead)}), uploaded ${r.blobsUploaded} blobs (${formatBytes(r.bytesUploaded)}) in ${(r.elapsedMs / 1000).toFixed(1)}s`;
}

export function reportBackup(r: BackupResult, mode: ProgressMode | 'cron'): number {
  if (mode === 'json') {
    printJson({
      message_type: 'summary',
      snapshot_id: r.snapshotId,
      ...(r.name ? { name: r.name } : {}),
      files: r.files,
      dirs: r.dirs,
      bytes: r.bytes,
      files_read: r.filesRead,
      bytes_read: r.bytesRead,
      chunks_new: r.chunksNew,
      blobs_uploaded: r.blobsUploaded,
      bytes_uploaded: r.bytesUploaded,
      errors: r.errors,
      elapsed_ms: r.elapsedMs,
    });
  } else if (mode !== 'cron') process.stdout.write(`${summaryLine(r)}\n`);
  for (const e of r.errors) process.stderr.write(`warning: could not read ${e.path}: ${e.error}\n`);
  return r.errors.length > 0 ? VAULT_EXIT.partial : VAULT_EXIT.ok;
}
