/** `vault restore` and `vault fetch`. */
import { fetchPath, formatBytes, restore, type RestoreResult } from '@restic-manager/vault';
import { describeError, identityFromEnv, parse, printJson, targetFrom, VAULT_EXIT } from './common.js';

const COMMON_FLAGS = `  --config <file>        read S3 endpoint/credentials (and index_prefix) from a vault config
  --index-prefix <p>     metadata prefix inside <prefix> (default index/)
  --json                 print the result as JSON

The private key comes from VAULTIK_AGE_SECRET_KEY or VAULTIK_PRIVATE_KEY (never from the command line).
<bucket> may be a local directory (/path or file:/path) instead of an S3 bucket.
S3 endpoint and keys: VAULTIK_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION, VAULTIK_S3_CA_CERT, or --config.`;

export const RESTORE_HELP = `Usage: restic-manager vault restore <bucket> <prefix> <snapshot_id> <target_dir> [flags]

Restores a snapshot under <target_dir> (files keep their absolute paths below it).
Every chunk is verified; damaged files are removed and listed, all others restored.
Restores modes, mtimes, symlinks and, as root, ownership.

Flags:
${COMMON_FLAGS}

Exit status: 0 ok; 1 error; 2 usage; 3 some files were damaged (listed).`;

export const FETCH_HELP = `Usage: restic-manager vault fetch <bucket> <prefix> <snapshot_id> <filepath> <target> [flags]

Restores one file or directory from a snapshot to <target> (a file path, or an
existing directory to put it in), downloading only that file's share of the blobs.

Flags:
${COMMON_FLAGS}

Exit status: 0 ok; 1 error (e.g. path not in snapshot); 2 usage; 3 damaged.`;

const FLAGS = { config: { type: 'string' }, 'index-prefix': { type: 'string' }, json: { type: 'boolean' } } as const;

function report(r: RestoreResult, json: boolean, what: string): number {
  if (json) printJson({ message_type: 'summary', files: r.files, dirs: r.dirs, symlinks: r.symlinks, bytes: r.bytes, damaged: r.damaged });
  else process.stdout.write(`${what}: ${r.files} files, ${r.dirs} dirs, ${r.symlinks} symlinks, ${formatBytes(r.bytes)}\n`);
  for (const d of r.damaged) process.stderr.write(`damaged, not restored: ${d.path}: ${d.error}\n`);
  return r.damaged.length > 0 ? VAULT_EXIT.partial : VAULT_EXIT.ok;
}

export async function runRestore(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, FLAGS);
  if (positionals.length !== 4) {
    process.stderr.write(`vault restore: expected <bucket> <prefix> <snapshot_id> <target_dir>\n\n${RESTORE_HELP}\n`);
    return VAULT_EXIT.usage;
  }
  const [bucket, prefix, snapshotId, target] = positionals as [string, string, string, string];
  try {
    const identity = identityFromEnv();
    const t = await targetFrom(bucket, prefix, values.config, values['index-prefix']);
    await t.storage.probe();
    const r = await restore({ storage: t.storage, identity, indexPrefix: t.indexPrefix, snapshotId, target });
    return report(r, values.json === true, `restored ${snapshotId} to ${target}`);
  } catch (e) {
    process.stderr.write(`vault restore: ${describeError(e)}\n`);
    return VAULT_EXIT.failed;
  }
}

export async function runFetch(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, FLAGS);
  if (positionals.length !== 5) {
    process.stderr.write(`vault fetch: expected <bucket> <prefix> <snapshot_id> <filepath> <target>\n\n${FETCH_HELP}\n`);
    return VAULT_EXIT.usage;
  }
  const [bucket, prefix, snapshotId, filepath, target] = positionals as [string, string, string, string, string];
  try {
    const identity = identityFromEnv();
    const t = await targetFrom(bucket, prefix, values.config, values['index-prefix']);
    await t.storage.probe();
    const r = await fetchPath({ storage: t.storage, identity, indexPrefix: t.indexPrefix, snapshotId, filepath, target });
    return report(r, values.json === true, `fetched ${filepath}`);
  } catch (e) {
    process.stderr.write(`vault fetch: ${describeError(e)}\n`);
    return VAULT_EXIT.failed;
  }
}
