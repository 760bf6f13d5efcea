import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { SERVER_VERSION } from '@restic-manager/server';
import { backupSqlite, DUMP_FILES, dumpPostgres, kitIdOf, readSecretKey } from '@restic-manager/server/controlplane';
import { age } from '@restic-manager/vault';
import type { X25519Recipient } from '@restic-manager/vault';
import type { Command } from '../command.js';
import { ADMIN_EXIT, parse, PATH_FLAGS, PATH_HELP, parseRecipients, serverPaths, UsageError, writePrivate } from './common.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, SNAPSHOT_TAG, type Manifest } from './manifest.js';
import { restic, RESTIC_FLAGS, RESTIC_HELP, resticOk, resticTarget } from './restic.js';

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

async function encryptFile(file: string, recipients: X25519Recipient[]): Promise<string> {
  const out = `${file}.age`;
  const enc = new age.AgeEncryptor(recipients);
  const w = createWriteStream(out, { mode: 0o600, flags: 'wx' });
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (const piece of enc.push(chunk)) if (!w.write(piece)) await once(w, 'drain');
  }
  for (const piece of enc.finish()) w.write(piece);
  w.end();
  await once(w, 'finish');
  unlinkSync(file);
  return path.basename(out);
}

export async function runBackup(argv: string[]): Promise<number> {
  const v = parse(argv, { ...PATH_FLAGS, ...RESTIC_FLAGS, recipient: { type: 'string', multiple: true }, 'without-key': { type: 'boolean' }, init: { type: 'boolean' }, json: { type: 'boolean' } });
  const target = resticTarget(v);
  if (typeof target === 'string') throw new UsageError(target);
  const recipients = parseRecipients(v.recipient);
  const paths = serverPaths(v);
  const key = readSecretKey(paths.secretKeyFile);
  // Staged in a private directory (the database copy is as sensitive as the database).
  const staging = mkdtempSync(path.join(os.tmpdir(), 'rm-control-plane-'));
  const dir = path.join(staging, SNAPSHOT_TAG);
  try {
    mkdirSync(dir, { mode: 0o700 });
    const store = paths.databaseUrl ? 'postgres' : 'sqlite';
    let dbFile: string = DUMP_FILES[store];
    if (store === 'sqlite') await backupSqlite(paths.dataDir, path.join(dir, dbFile));
    else await dumpPostgres(paths.databaseUrl ?? '', path.join(dir, dbFile));
    let keyFile: string | null = null;
    if (!v['without-key']) {
      keyFile = 'secret.key';
      writePrivate(path.join(dir, keyFile), `${key.toString('hex')}\n`);
    }
    if (recipients.length) {
      dbFile = await encryptFile(path.join(dir, dbFile), recipients);
      if (keyFile) keyFile = await encryptFile(path.join(dir, keyFile), recipients);
    }
    const manifest: Manifest = {
      format: MANIFEST_FORMAT, created_at: new Date().toISOString(), server_version: SERVER_VERSION, store, database_file: dbFile, key_file: keyFile,
      kit_id: kitIdOf(key), encrypted_to: recipients.map((r) => r.toString()),
    };
    writePrivate(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    if (v.init) {
      const probe = await restic(target, ['cat', 'config']);
      if (probe.code !== 0) await resticOk(target, ['init']);
    }
    const out = await resticOk(target, ['backup', '--json', '--tag', SNAPSHOT_TAG, '--host', os.hostname(), dir]);
    const summary = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { message_type?: string; snapshot_id?: string }).find((m) => m.message_type === 'summary');
    if (!summary?.snapshot_id) throw new Error('restic backup printed no summary');
    const result = { snapshot_id: summary.snapshot_id, store, encrypted: recipients.length > 0, includes_key: keyFile !== null, kit_id: manifest.kit_id };
    process.stdout.write(v.json ? `${JSON.stringify(result)}\n` : `control plane backed up: snapshot ${result.snapshot_id} (${store}${result.encrypted ? ', age-encrypted' : ''}${result.includes_key ? ', with the secret key' : ', without the secret key'})\n`);
    return ADMIN_EXIT.ok;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export const backupCommand: Command = {
  summary: 'Back up the database and secret key into a restic repository',
  help: BACKUP_HELP,
  run: async (argv) => {
    try {
      return await runBackup(argv);
    } catch (e) {
      if (e instanceof UsageError) {
        process.stderr.write(`restic-manager server backup: ${e.message}\n\n${BACKUP_HELP}\n`);
        return ADMIN_EXIT.usage;
      }
      process.stderr.write(`restic-manager server backup: ${(e as Error).message}\n`);
      return ADMIN_EXIT.failed;
    }
  },
};
