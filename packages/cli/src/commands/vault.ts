import type { Command } from '../command.js';
import { BACKUP_HELP, runBackup } from '../vault/backup.js';
import { UsageError, VAULT_EXIT } from '../vault/common.js';
import { CHECK_HELP, KEYGEN_HELP, PRUNE_HELP, runCheck, runKeygen, runPrune, runSnapshots, SNAPSHOTS_HELP } from '../vault/maintenance.js';
import { FETCH_HELP, RESTORE_HELP, runFetch, runRestore } from '../vault/restore.js';

const SUBCOMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  backup: { help: BACKUP_HELP, run: runBackup },
  restore: { help: RESTORE_HELP, run: runRestore },
  fetch: { help: FETCH_HELP, run: runFetch },
  snapshots: { help: SNAPSHOTS_HELP, run: runSnapshots },
  prune: { help: PRUNE_HELP, run: runPrune },
  check: { help: CHECK_HELP, run: runCheck },
  keygen: { help: KEYGEN_HELP, run: runKeygen },
};

const HELP = `Usage: restic-manager vault <subcommand> [args]

The zero-trust vault engine: backups encrypted to age public keys; the backed-up
host holds nothing that can read them. It takes vaultik's configuration and commands;
its repository format is its own (a vaultik bucket cannot be read, nor written for
vaultik): see docs/vault-format.md, "Differences from vaultik's bucket layout".

Subcommands:
  backup [<config.yaml>] [--cron|--daemon] [--json]    back up the config's sources
  restore <bucket> <prefix> <snapshot_id> <target_dir> restore a snapshot (needs key)
  fetch <bucket> <prefix> <snapshot_id> <filepath> <target>   restore one path
  snapshots [<bucket> <prefix>] [--config f]           list snapshots (no key)
  prune [<bucket> <prefix>] [--keep-* …]               retention + garbage collection (no key)
  check [<bucket> <prefix>] [--no-read-data]           verify integrity
  keygen                                               new identity + recipient

The private key is read only from VAULTIK_AGE_SECRET_KEY (or VAULTIK_PRIVATE_KEY). Run
'restic-manager vault help <subcommand>' for a subcommand's flags.

${Object.values(SUBCOMMANDS)
  .map((s) => s.help)
  .join('\n\n')}`;

export const command: Command = {
  summary: "Zero-trust backups to age public keys: vaultik's configuration and commands; its own repository format",
  help: HELP,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub) {
      process.stderr.write(`${HELP}\n`);
      return VAULT_EXIT.usage;
    }
    if (sub === 'help') {
      const s = rest[0] ? SUBCOMMANDS[rest[0]] : undefined;
      process.stdout.write(`${s ? s.help : HELP}\n`);
      return rest[0] && !s ? VAULT_EXIT.usage : VAULT_EXIT.ok;
    }
    const s = SUBCOMMANDS[sub];
    if (!s) {
      process.stderr.write(`vault: unknown subcommand '${sub}'\n\n${HELP}\n`);
      return VAULT_EXIT.usage;
    }
    try {
      return await s.run(rest);
    } catch (e) {
      if (e instanceof UsageError) {
        process.stderr.write(`vault ${sub}: ${e.message}\n\n${s.help}\n`);
        return VAULT_EXIT.usage;
      }
      throw e;
    }
  },
};
