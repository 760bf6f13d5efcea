import path from 'node:path';
import { readFileSync } from 'node:fs';
import QRCode from 'qrcode';
import { age } from '@restic-manager/vault';
import { combineShares, exportRepositories, kitIdOf, openStoreView, readSecretKey, RecoveryKitError, splitKey, type RecoveryShare } from '@restic-manager/server/controlplane';
import type { Command } from '../command.js';
import { ADMIN_EXIT, guarded, parse, PATH_FLAGS, PATH_HELP, parseRecipients, privateDir, readStdin, serverPaths, UsageError, writePrivate } from './common.js';

const KIT_HELP = `Usage: restic-manager server recovery-kit [--shares N] [--threshold T] --out <dir>
                                         [--recipient age1…]… [--data-dir d] [--key-file f] [--json]
       restic-manager server recovery-kit combine --out <key-file> [--share-file f]… [--json]

Splits the server's secret key (the key that seals every stored password and credential) with
Shamir's scheme over GF(256) into N printable shares, any T of which give the key back; fewer
than T reveal nothing about it. Each share is written as share-<i>-of-<N>.txt (a page to print)
and share-<i>-of-<N>.svg (its QR code) into --out (created 0700, files 0600). Hand each share to
a different person or safe; then the key file alone need not be backed up anywhere else.

With --recipient, also writes repositories.json.age: every repository's URL, password and
backend credentials, with the restic environment for each, encrypted to the age recipient(s),
so the backups can be reached with plain restic if restic-manager itself is gone:
  age -d -i key.txt repositories.json.age > repositories.json

  --shares N          number of shares, 2..255                                        [5]
  --threshold T       shares needed to restore the key, 2..N                          [3]
  --out <dir>         where the kit is written (must be empty or new)
  --recipient age1…   seal the repository export to this age public key (repeatable)
${PATH_HELP}
  --json              print {kit_id, threshold, shares, files, repositories} instead of text

'combine' reads shares (typed, scanned, or the share-*.txt pages: any line starting RMKIT1),
from --share-file files or else from standard input, checks each one's check digits, and writes
the restored key to --out (mode 0600, never over an existing file) after checking it against the
kit id. Start the server with RM_SECRET_KEY_FILE pointing there, or move it to the data dir.

Exit status:
  0  kit written / key restored
  1  the key or database could not be read, a share is damaged, or too few shares
  2  invalid flags`;

async function runKit(argv: string[]): Promise<number> {
  const v = parse(argv, { ...PATH_FLAGS, shares: { type: 'string', default: '5' }, threshold: { type: 'string', default: '3' }, out: { type: 'string' }, recipient: { type: 'string', multiple: true }, json: { type: 'boolean' } });
  if (!v.out) throw new UsageError('--out <dir> is required');
  const total = Number(v.shares);
  const threshold = Number(v.threshold);
  const recipients = parseRecipients(v.recipient);
  const paths = serverPaths(v);
  const key = readSecretKey(paths.secretKeyFile);
  let shares: RecoveryShare[];
  try {
    shares = await splitKey(key, total, threshold);
  } catch (e) {
    if (e instanceof RecoveryKitError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
  let exported: { file: string; repositories: number } | null = null;
  let exportBytes: Buffer | null = null;
  if (recipients.length) {
    const view = openStoreView(paths);
    try {
      const doc = await exportRepositories(view.db, key);
      exportBytes = age.encrypt(Buffer.from(`${JSON.stringify(doc, null, 2)}\n`), recipients);
      exported = { file: path.join(v.out, 'repositories.json.age'), repositories: doc.repositories.length };
    } finally {
      await view.close();
    }
  }
  privateDir(v.out, '--out');
  const made = new Date().toISOString();
  const files: string[] = [];
  for (const s of shares) {
    const base = path.join(v.out, `share-${s.number}-of-${s.total}`);
    writePrivate(`${base}.txt`, sharePage(s, made));
    writePrivate(`${base}.svg`, await QRCode.toString(s.line, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 }));
    files.push(`${base}.txt`, `${base}.svg`);
  }
  if (exported && exportBytes) {
    writePrivate(exported.file, exportBytes);
    files.push(exported.file);
  }
  const first = shares[0];
  if (v.json) {
    process.stdout.write(`${JSON.stringify({ kit_id: first?.kitId, threshold, shares: total, files, repositories: exported?.repositories ?? null })}\n`);
  } else {
    process.stdout.write(`recovery kit ${first?.kitId ?? ''}: ${total} shares, any ${threshold} restore the key, written to ${v.out}\n`);
    if (exported) process.stdout.write(`${exported.repositories} repositories exported to ${exported.file} (age-encrypted)\n`);
  }
  return ADMIN_EXIT.ok;
}

function sharePage(s: RecoveryShare, made: string): string {
  const parts = s.line.split('-');
  const data = parts[5] ?? '';
  const grouped = `${parts.slice(0, 5).join('-')}- ${data.match(/.{1,4}/g)?.join(' ') ?? data} -${parts[6] ?? ''}`;
  return `restic-manager recovery kit ${s.kitId}: share ${s.number} of ${s.total} (any ${s.threshold} restore the server's secret key)
made ${made}

${s.line}

The same share in groups, for typing (spaces are ignored):
${grouped}

Keep this page apart from the other shares: ${s.threshold} of them open every repository password
the server holds; fewer reveal nothing. To restore the key on a new machine:

  restic-manager server recovery-kit combine --out /var/lib/restic-manager/secret.key

then type or scan ${s.threshold} shares, one per line, and end with Ctrl-D (docs/operations.md).
`;
}

async function runCombine(argv: string[]): Promise<number> {
  const v = parse(argv, { out: { type: 'string' }, 'share-file': { type: 'string', multiple: true }, json: { type: 'boolean' } });
  if (!v.out) throw new UsageError('--out <key-file> is required');
  const texts = v['share-file']?.length ? v['share-file'].map((f) => readFileSync(f, 'utf8')) : [await readStdin()];
  const lines = texts.flatMap((t) => t.split('\n').map((l) => l.trim()).filter((l) => /^rmkit1-/i.test(l)));
  let key: Buffer;
  try {
    key = await combineShares(lines);
  } catch (e) {
    if (e instanceof RecoveryKitError) {
      process.stderr.write(`recovery-kit combine: ${e.message}\n`);
      return ADMIN_EXIT.failed;
    }
    throw e;
  }
  writePrivate(v.out, `${key.toString('hex')}\n`);
  const kit = kitIdOf(key);
  process.stdout.write(v.json ? `${JSON.stringify({ kit_id: kit, key_file: v.out })}\n` : `restored the secret key of kit ${kit} to ${v.out} (mode 0600)\n`);
  return ADMIN_EXIT.ok;
}

export const recoveryKit: Command = {
  summary: "Split the server's secret key into Shamir shares (and export repository credentials to age)",
  help: KIT_HELP,
  run: guarded('recovery-kit', KIT_HELP, runKit),
  subcommands: {
    combine: { summary: 'Restore the secret key from recovery-kit shares', help: KIT_HELP, run: guarded('recovery-kit', KIT_HELP, runCombine) },
  },
};
