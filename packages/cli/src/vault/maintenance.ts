/** `vault snapshots`, `vault prune`, `vault check`, `vault keygen`. */
import { check, formatBytes, listSnapshots, parseDuration, prune, PruneRefusedError, X25519Identity, type RetentionPolicy, type X25519Identity as Identity } from '@restic-manager/vault';
import { describeError, identityFromEnv, parse, printJson, targetFrom, UsageError, VAULT_EXIT } from './common.js';

const TARGET_FLAGS = `  --config <file>        bucket/prefix and S3 settings from a vault config (then omit <bucket> <prefix>)
  --index-prefix <p>     metadata prefix inside <prefix> (default index/)
  --json                 JSON output`;

export const SNAPSHOTS_HELP = `Usage: restic-manager vault snapshots [<bucket> <prefix>] [flags]

Lists committed snapshots (ids and times are plaintext; no key needed).

Flags:
${TARGET_FLAGS}

Exit status: 0 ok; 1 error; 2 usage.`;

export const PRUNE_HELP = `Usage: restic-manager vault prune [<bucket> <prefix>] [flags]

Applies a retention policy, then deletes blobs no retained snapshot references.
Works WITHOUT the private key (from the plaintext per-snapshot blob-id lists); if
VAULTIK_AGE_SECRET_KEY (or VAULTIK_PRIVATE_KEY) is set it is used only to rebuild a damaged list.
Unreferenced blobs older than --grace are first condemned (listed under prune/), and
deleted once every backup that was running then has ended: by this prune when none
was running, else by a later one. Backups never wait for a prune, nor the reverse.

Flags:
  --keep-last N, --keep-hourly N, --keep-daily N, --keep-weekly N,
  --keep-monthly N, --keep-yearly N, --keep-within DURATION (e.g. 30d)
                         without any: keep every snapshot, only collect garbage
  --grace DURATION       keep unreferenced blobs younger than this (default 24h)
  --dry-run              report what would be deleted
${TARGET_FLAGS}

Exit status: 0 ok; 1 error (nothing deleted); 2 usage; 4 refused: another prune is running.`;

export const CHECK_HELP = `Usage: restic-manager vault check [<bucket> <prefix>] [flags]

Verifies every committed snapshot: reference lists, metadata hashes, and that every
referenced blob exists and matches its SHA-256 name. With VAULTIK_AGE_SECRET_KEY set it
also decrypts the metadata and names the files affected by any damage.

Flags:
  --no-read-data         skip downloading blobs (existence only)
${TARGET_FLAGS}

Exit status: 0 no problems; 1 error; 2 usage; 3 problems found (listed).`;

export const KEYGEN_HELP = `Usage: restic-manager vault keygen [--json]

Prints a new age X25519 identity (AGE-SECRET-KEY-1…, keep it offline) and its
recipient (age1…, put it in the config's age_recipient). Equivalent to age-keygen.

Exit status: 0.`;

const TARGET = { config: { type: 'string' }, 'index-prefix': { type: 'string' }, json: { type: 'boolean' } } as const;

function optionalIdentity(): Identity | undefined {
  return process.env.VAULTIK_AGE_SECRET_KEY || process.env.VAULTIK_PRIVATE_KEY ? identityFromEnv() : undefined;
}

function positionalTarget(cmd: string, positionals: string[]): [string | undefined, string | undefined] {
  if (positionals.length !== 0 && positionals.length !== 2) throw new UsageError(`vault ${cmd}: expected <bucket> <prefix> or --config <file>`);
  return [positionals[0], positionals[1]];
}

export async function runSnapshots(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, TARGET);
  const [bucket, prefix] = positionalTarget('snapshots', positionals);
  try {
    const t = await targetFrom(bucket, prefix, values.config, values['index-prefix']);
    await t.storage.probe();
    const snaps = (await listSnapshots(t.storage, t.indexPrefix)).filter((s) => s.committed);
    if (values.json) printJson(snaps.map((s) => ({ id: s.id, time: s.time.toISOString(), metadata_bytes: s.metaSize })));
    else {
      for (const s of snaps) process.stdout.write(`${s.id}  ${s.time.toISOString()}\n`);
      process.stdout.write(`${snaps.length} snapshot${snaps.length === 1 ? '' : 's'}\n`);
    }
    return VAULT_EXIT.ok;
  } catch (e) {
    process.stderr.write(`vault snapshots: ${describeError(e)}\n`);
    return e instanceof UsageError ? VAULT_EXIT.usage : VAULT_EXIT.failed;
  }
}

function count(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag}: expected a whole number, got '${v}'`);
  return Number(v);
}

export async function runPrune(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...TARGET,
    'keep-last': { type: 'string' },
    'keep-hourly': { type: 'string' },
    'keep-daily': { type: 'string' },
    'keep-weekly': { type: 'string' },
    'keep-monthly': { type: 'string' },
    'keep-yearly': { type: 'string' },
    'keep-within': { type: 'string' },
    grace: { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  try {
    const [bucket, prefix] = positionalTarget('prune', positionals);
    const policy: RetentionPolicy = {};
    for (const k of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
      const n = count(values[`keep-${k}`], `keep-${k}`);
      if (n !== undefined) policy[`keep_${k}`] = n;
    }
    if (values['keep-within']) policy.keep_within = parseDuration(values['keep-within']);
    const graceMs = values.grace ? parseDuration(values.grace) : undefined;
    const t = await targetFrom(bucket, prefix, values.config, values['index-prefix']);
    const identity = optionalIdentity();
    const r = await prune({
      storage: t.storage,
      indexPrefix: t.indexPrefix,
      policy,
      ...(graceMs !== undefined ? { graceMs } : {}),
      ...(identity ? { identity } : {}),
      dryRun: values['dry-run'] === true,
    });
    if (values.json) printJson({ message_type: 'summary', dry_run: values['dry-run'] === true, snapshots_kept: r.snapshotsKept, snapshots_removed: r.snapshotsRemoved, blobs_deleted: r.blobsDeleted, bytes_deleted: r.bytesDeleted, blobs_in_grace: r.blobsInGrace, blobs_kept: r.blobsKept, blobs_deferred: r.blobsDeferred });
    else {
      const verb = values['dry-run'] ? 'would delete' : 'deleted';
      process.stdout.write(`kept ${r.snapshotsKept.length} snapshots, removed ${r.snapshotsRemoved.length}; ${verb} ${r.blobsDeleted} blobs (${formatBytes(r.bytesDeleted)}); ${r.blobsInGrace} unreferenced blobs kept for the grace period; ${r.blobsKept} blobs in use${r.blobsDeferred ? `; ${r.blobsDeferred} condemned blobs wait for a running backup` : ''}\n`);
    }
    return VAULT_EXIT.ok;
  } catch (e) {
    process.stderr.write(`vault prune: ${describeError(e)}\n`);
    if (e instanceof UsageError) return VAULT_EXIT.usage;
    return e instanceof PruneRefusedError && /prune is running/.test(e.message) ? VAULT_EXIT.busy : VAULT_EXIT.failed;
  }
}

export async function runCheck(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...TARGET, 'no-read-data': { type: 'boolean' } });
  try {
    const [bucket, prefix] = positionalTarget('check', positionals);
    const t = await targetFrom(bucket, prefix, values.config, values['index-prefix']);
    const identity = optionalIdentity();
    const r = await check({ storage: t.storage, indexPrefix: t.indexPrefix, readData: values['no-read-data'] !== true, ...(identity ? { identity } : {}) });
    if (values.json) printJson({ message_type: 'summary', snapshots: r.snapshots, blobs_checked: r.blobsChecked, problems: r.problems });
    else {
      for (const p of r.problems) {
        process.stdout.write(`${p.kind}: ${p.object}: ${p.message}\n`);
        for (const f of p.files ?? []) process.stdout.write(`  affected file: ${f}\n`);
      }
      process.stdout.write(`${r.snapshots} snapshots, ${r.blobsChecked} blobs read: ${r.problems.length === 0 ? 'no problems found' : `${r.problems.length} problem(s)`}\n`);
    }
    return r.problems.length > 0 ? VAULT_EXIT.partial : VAULT_EXIT.ok;
  } catch (e) {
    process.stderr.write(`vault check: ${describeError(e)}\n`);
    return e instanceof UsageError ? VAULT_EXIT.usage : VAULT_EXIT.failed;
  }
}

export function runKeygen(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } });
  const id = X25519Identity.generate();
  if (values.json) printJson({ identity: id.toString(), recipient: id.recipient.toString() });
  else process.stdout.write(`# created: ${new Date().toISOString()}\n# public key: ${id.recipient.toString()}\n${id.toString()}\n`);
  return Promise.resolve(VAULT_EXIT.ok);
}
