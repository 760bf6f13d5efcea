/** `vault backup <config.yaml> [--cron] [--daemon] [--json]` */
import { backupAll, loadConfig } from '@restic-manager/vault';
import { describeError, parse, storageFromConfig, VAULT_EXIT } from './common.js';
import { runDaemon } from './daemon.js';
import { progressPrinter, type ProgressMode } from './progress.js';
import { reportBackup } from './report.js';

export const BACKUP_HELP = `Usage: restic-manager vault backup [<config.yaml>] [--cron | --daemon] [--json]

Backs up the config's source_dirs (or each of its snapshots: <name>: {paths, exclude},
one snapshot each) to its S3 bucket, storage_url or local_dir, encrypted to every
age_recipient(s). The config is vaultik's; the repository format is this project's own.
Without <config.yaml>, VAULTIK_CONFIG names it; VAULTIK_INDEX_PATH overrides index_path.
The host needs no private key, and only create-object permission plus list on its prefix.

Flags:
  --cron     silent unless there is an error (the exit status says which)
  --daemon   keep running: watch the sources (inotify) and back up every
             backup_interval when something changed, never more often than
             min_time_between_run, with a full scan every full_scan_interval
  --json     progress and the summary as JSON lines on stdout

Exit status: 0 ok; 1 error (nothing committed); 2 usage; 3 snapshot committed but
some files could not be read (listed on stderr).`;

export async function runBackup(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { cron: { type: 'boolean' }, daemon: { type: 'boolean' }, json: { type: 'boolean' } });
  if (positionals.length > 1 || (positionals.length === 0 && !process.env.VAULTIK_CONFIG)) {
    process.stderr.write(`vault backup: expected one config file (or VAULTIK_CONFIG)\n\n${BACKUP_HELP}\n`);
    return VAULT_EXIT.usage;
  }
  let cfg;
  try {
    cfg = loadConfig(positionals[0]);
  } catch (e) {
    process.stderr.write(`vault backup: ${describeError(e)}\n`);
    return VAULT_EXIT.failed;
  }
  const storage = await storageFromConfig(cfg);
  const mode: ProgressMode | 'cron' = values.cron ? 'cron' : values.json ? 'json' : process.stderr.isTTY ? 'tty' : 'quiet';
  if (values.daemon) return runDaemon(cfg, storage, mode);
  const printer = progressPrinter(mode === 'cron' ? 'quiet' : mode);
  try {
    const results = await backupAll(cfg, { storage, onProgress: (p) => printer.update(p) });
    printer.done();
    return Math.max(...results.map((r) => reportBackup(r, mode)));
  } catch (e) {
    printer.done();
    process.stderr.write(`vault backup: ${describeError(e)}\n`);
    return VAULT_EXIT.failed;
  }
}
