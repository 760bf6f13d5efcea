/** `vault backup <config.yaml> [--cron] [--daemon] [--json]` */
import { backup, formatBytes, loadConfig, type BackupResult } from '@restic-manager/vault';
import { describeError, parse, printJson, storageFromConfig, VAULT_EXIT } from './common.js';
import { runDaemon } from './daemon.js';
import { progressPrinter, type ProgressMode } from './progress.js';

export const BACKUP_HELP = `Usage: restic-manager vault backup <config.yaml> [--cron | --daemon] [--json]

Backs up the config's source_dirs to its S3 bucket (or local_dir), encrypted to
age_recipient. The config is vaultik's YAML format. The host needs no private key.

Flags:
  --cron     silent unless there is an error (the exit status says which)
  --daemon   keep running: watch the sources (inotify) and back up every
             backup_interval when something changed, never more often than
             min_time_between_run, with a full scan every full_scan_interval
  --json     progress and the summary as JSON lines on stdout

Exit status: 0 ok; 1 error (nothing committed); 2 usage; 3 snapshot committed but
some files could not be read (listed on stderr).`;

function summaryLine(r: BackupResult): string {
  return `snapshot ${r.snapshotId} saved: ${r.files} files, ${formatBytes(r.bytes)}; read ${r.filesRead} changed files (${formatBytes(r.bytesRead)}), uploaded ${r.blobsUploaded} blobs (${formatBytes(r.bytesUploaded)}) in ${(r.elapsedMs / 1000).toFixed(1)}s`;
}

export function reportBackup(r: BackupResult, mode: ProgressMode | 'cron'): number {
  if (mode === 'json') {
    printJson({
      message_type: 'summary',
      snapshot_id: r.snapshotId,
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

export async function runBackup(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { cron: { type: 'boolean' }, daemon: { type: 'boolean' }, json: { type: 'boolean' } });
  if (positionals.length !== 1) {
    process.stderr.write(`vault backup: expected exactly one config file\n\n${BACKUP_HELP}\n`);
    return VAULT_EXIT.usage;
  }
  let cfg;
  try {
    cfg = loadConfig(positionals[0]!);
  } catch (e) {
    process.stderr.write(`vault backup: ${describeError(e)}\n`);
    return VAULT_EXIT.failed;
  }
  const storage = await storageFromConfig(cfg);
  const mode: ProgressMode | 'cron' = values.cron ? 'cron' : values.json ? 'json' : process.stderr.isTTY ? 'tty' : 'quiet';
  if (values.daemon) return runDaemon(cfg, storage, mode);
  const printer = progressPrinter(mode === 'cron' ? 'quiet' : mode);
  try {
    const r = await backup(cfg, { storage, onProgress: (p) => printer.update(p) });
    printer.done();
    return reportBackup(r, mode);
  } catch (e) {
    printer.done();
    process.stderr.write(`vault backup: ${describeError(e)}\n`);
    return VAULT_EXIT.failed;
  }
}
