import { backupControlPlane, SNAPSHOT_TAG } from '@restic-manager/server/controlplane';
import type { Command } from '../command.js';
import { ADMIN_EXIT, guarded, parse, PATH_FLAGS, PATH_HELP, parseRecipients, serverPaths, UsageError } from './common.js';
import { RESTIC_FLAGS, RESTIC_HELP, resticTarget } from './restic.js';

export const BACKUP_HELP = `Usage: restic-manager server backup --repo <location> --password-file <file>
                                  [--recipient age1…]… [--without-key] [--init] [--json]

Backs up the control plane into a restic repository, while the server runs: a consistent copy
of the database (SQLite's online backup API, or pg_dump for RM_DATABASE_URL), which holds the
sealed credentials, plus the secret key that opens them, and a manifest.json. One snapshot,
tagged ${SNAPSHOT_TAG}. 'restic-manager server restore' rebuilds a data directory from it.

With --recipient the files are first encrypted to the age public key(s): the restic password
alone (which this machine holds) then cannot open them; restore needs the age identity.
With --without-key the secret key is left out: restore then needs the key from the recovery
kit ('recovery-kit combine'), given as --key-from.

${RESTIC_HELP}
  --recipient age1…        encrypt the files to this age public key first (repeatable)
  --without-key            leave the secret key out of the backup
  --init                   create the restic repository if it does not exist yet
${PATH_HELP}
  --json                   print {snapshot_id, store, encrypted, includes_key, kit_id}

Exit status:
  0  backed up
  1  the database, key or repository could not be read or written
  2  invalid flags`;

export async function runBackup(argv: string[]): Promise<number> {
  const v = parse(argv, { ...PATH_FLAGS, ...RESTIC_FLAGS, recipient: { type: 'string', multiple: true }, 'without-key': { type: 'boolean' }, init: { type: 'boolean' }, json: { type: 'boolean' } });
  const target = resticTarget(v);
  if (typeof target === 'string') throw new UsageError(target);
  const recipients = v.recipient ?? [];
  parseRecipients(recipients);
  const result = await backupControlPlane({ paths: serverPaths(v), target, recipients, includeKey: !v['without-key'], init: v.init === true });
  process.stdout.write(v.json ? `${JSON.stringify(result)}\n` : `control plane backed up: snapshot ${result.snapshot_id} (${result.store}${result.encrypted ? ', age-encrypted' : ''}${result.includes_key ? ', with the secret key' : ', without the secret key'})\n`);
  return ADMIN_EXIT.ok;
}

export const backupCommand: Command = {
  summary: 'Back up the database and secret key into a restic repository',
  help: BACKUP_HELP,
  run: guarded('backup', BACKUP_HELP, runBackup),
};
