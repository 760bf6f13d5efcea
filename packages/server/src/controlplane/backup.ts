import { chmodSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { AgeEncryptor, X25519Recipient } from '@restic-manager/vault/age';
import { SERVER_VERSION } from '../version.js';
import { backupSqlite, DUMP_FILES, dumpPostgres } from './db-snapshot.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, SNAPSHOT_TAG, type Manifest } from './manifest.js';
import { kitIdOf } from './recovery-kit.js';
import { restic, resticOk, type ResticTarget } from './restic-run.js';
import { readSecretKey, type ServerPaths } from './store-access.js';

/*
 * One control-plane backup (docs/operations.md "Back up the control plane"): a consistent copy of
 * the database, the secret key (unless left out) and manifest.json, optionally age-encrypted,
 * as one restic snapshot tagged restic-manager-control-plane. `restic-manager server backup` and
 * the server's Settings schedule both call backupControlPlane.
 */

export interface ControlPlaneBackupOptions {
  paths: ServerPaths;
  target: ResticTarget;
  /** age X25519 recipients (age1…); empty = the files stay plain inside the restic repository. */
  recipients: string[];
  /** false = leave the secret key out (restore then needs the recovery kit). */
  includeKey: boolean;
  /** Create the restic repository when `restic cat config` fails. */
  init?: boolean;
  /** restic's --host (default: this machine's hostname). */
  host?: string;
}

export interface ControlPlaneBackupResult {
  snapshot_id: string;
  store: 'sqlite' | 'postgres';
  encrypted: boolean;
  includes_key: boolean;
  kit_id: string;
}

/** A bad recipient: the message names it. */
export class RecipientError extends Error {}

/** Parses age recipients; throws RecipientError naming the one at fault. */
export function parseRecipients(list: string[]): X25519Recipient[] {
  return list.map((r, i) => {
    try {
      return X25519Recipient.parse(r);
    } catch (e) {
      throw new RecipientError(`recipient ${i + 1}: ${(e as Error).message}`, { cause: e });
    }
  });
}

function writePrivate(file: string, data: string): void {
  writeFileSync(file, data, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

async function encryptFile(file: string, recipients: X25519Recipient[]): Promise<string> {
  const out = `${file}.age`;
  const enc = new AgeEncryptor(recipients);
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

/**
 * Backs up the control plane. Throws with a specific message: a missing database or key file,
 * a bad recipient (RecipientError), or restic's own last error lines (wrong password, no
 * repository at the location, unreachable server).
 */
export async function backupControlPlane(o: ControlPlaneBackupOptions): Promise<ControlPlaneBackupResult> {
  const recipients = parseRecipients(o.recipients);
  const key = readSecretKey(o.paths.secretKeyFile);
  // Staged in a private directory (the database copy is as sensitive as the database).
  const staging = mkdtempSync(path.join(os.tmpdir(), 'rm-control-plane-'));
  const dir = path.join(staging, SNAPSHOT_TAG);
  try {
    mkdirSync(dir, { mode: 0o700 });
    const store = o.paths.databaseUrl ? 'postgres' : 'sqlite';
    let dbFile: string = DUMP_FILES[store];
    if (store === 'sqlite') await backupSqlite(o.paths.dataDir, path.join(dir, dbFile));
    else await dumpPostgres(o.paths.databaseUrl ?? '', path.join(dir, dbFile));
    let keyFile: string | null = null;
    if (o.includeKey) {
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
    if (o.init) {
      const probe = await restic(o.target, ['cat', 'config']);
      if (probe.code !== 0) await resticOk(o.target, ['init']);
    }
    const out = await resticOk(o.target, ['backup', '--json', '--tag', SNAPSHOT_TAG, '--host', o.host ?? os.hostname(), dir]);
    const summary = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { message_type?: string; snapshot_id?: string }).find((m) => m.message_type === 'summary');
    if (!summary?.snapshot_id) throw new Error('restic backup printed no summary');
    return { snapshot_id: summary.snapshot_id, store, encrypted: recipients.length > 0, includes_key: keyFile !== null, kit_id: manifest.kit_id };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
