import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkSqlite, exportRepositories, kitIdOf, MANIFEST_FILE, openStoreView, parseManifest, restorePostgres, resticOk, SNAPSHOT_TAG, SQLITE_FILE } from '@restic-manager/server/controlplane';
import { X25519Identity, age } from '@restic-manager/vault';
import type { Command } from '../command.js';
import { ADMIN_EXIT, guarded, parse, PATH_FLAGS, PATH_HELP, privateDir, serverPaths, UsageError, writePrivate } from './common.js';
import { RESTIC_FLAGS, RESTIC_HELP, resticTarget } from './restic.js';

export const RESTORE_HELP = `Usage: restic-manager server restore --data-dir <new dir> --repo <location> --password-file <file>
                                   [--snapshot <id>] [--identity <age key file>] [--key-from <file>] [--json]

Rebuilds a server's data directory (on a new machine) from a 'restic-manager server backup'
snapshot: the database (or, with RM_DATABASE_URL, a pg_restore into that database) and the
secret key. The data directory must be new or empty; the server must not be running. It then
checks that the key opens every stored repository credential. Start the server on it as usual:
agents reconnect with their own tokens, which the database holds.

${RESTIC_HELP}
  --snapshot <id>          the snapshot to restore                  [the latest ${SNAPSHOT_TAG}]
  --identity <file>        age identity file (AGE-SECRET-KEY-1…) for an encrypted backup
  --key-from <file>        the secret key to use instead of the backup's copy (e.g. from
                           'recovery-kit combine'; needed for a backup made --without-key)
${PATH_HELP}
  --json                   print {snapshot_id, store, repositories, data_dir}

Exit status:
  0  restored and checked
  1  the snapshot, identity or key could not be read, or the key does not open the database
  2  invalid flags, or the data directory is not empty`;

interface SnapshotInfo {
  id: string;
  short_id?: string;
  time: string;
  paths: string[];
}

function readIdentity(file: string): X25519Identity {
  const line = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).find((l) => l.startsWith('AGE-SECRET-KEY-1'));
  if (!line) throw new Error(`--identity ${file} holds no AGE-SECRET-KEY-1… line`);
  return X25519Identity.parse(line);
}

function readKeyFile(file: string, what: string): Buffer {
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`${what} ${file} must hold 64 hex characters (32 bytes)`);
  return Buffer.from(text, 'hex');
}

export async function runRestore(argv: string[]): Promise<number> {
  const v = parse(argv, { ...PATH_FLAGS, ...RESTIC_FLAGS, snapshot: { type: 'string' }, identity: { type: 'string' }, 'key-from': { type: 'string' }, json: { type: 'boolean' } });
  const target = resticTarget(v);
  if (typeof target === 'string') throw new UsageError(target);
  if (v.snapshot !== undefined && !/^[0-9a-f]{8,64}$/.test(v.snapshot)) throw new UsageError('--snapshot must be a snapshot id (8 to 64 hex digits)');
  const paths = serverPaths(v);
  privateDir(paths.dataDir, '--data-dir');
  if (existsSync(paths.secretKeyFile)) throw new UsageError(`${paths.secretKeyFile} exists: restore never replaces a key file`);
  const list = JSON.parse(await resticOk(target, ['snapshots', '--json', '--tag', SNAPSHOT_TAG])) as SnapshotInfo[] | null;
  const snaps = (list ?? []).sort((a, b) => a.time.localeCompare(b.time));
  const snap = v.snapshot ? snaps.find((s) => s.id.startsWith(v.snapshot ?? '')) : snaps.at(-1);
  if (!snap) throw new Error(v.snapshot ? `no ${SNAPSHOT_TAG} snapshot ${v.snapshot} in the repository` : `the repository holds no ${SNAPSHOT_TAG} snapshot`);
  const source = snap.paths[0];
  if (!source || !path.isAbsolute(source)) throw new Error(`snapshot ${snap.id.slice(0, 8)} has no absolute path`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rm-control-plane-restore-'));
  try {
    await resticOk(target, ['restore', snap.id, '--target', tmp]);
    const dir = path.join(tmp, source);
    if (!existsSync(path.join(dir, MANIFEST_FILE))) throw new Error(`snapshot ${snap.id.slice(0, 8)} holds no ${MANIFEST_FILE}: not a control-plane backup`);
    const m = parseManifest(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
    const identities = v.identity ? [readIdentity(v.identity)] : [];
    if (m.encrypted_to.length && !identities.length) throw new UsageError(`snapshot ${snap.id.slice(0, 8)} is encrypted to ${m.encrypted_to.join(', ')}: give --identity <age key file>`);
    const open = (name: string): Buffer => {
      const data = readFileSync(path.join(dir, name));
      if (!name.endsWith('.age')) return data;
      try {
        return age.decrypt(data, identities);
      } catch (e) {
        throw new Error(`${name} cannot be decrypted with --identity: ${(e as Error).message}`, { cause: e });
      }
    };
    let key: Buffer;
    if (v['key-from']) {
      key = readKeyFile(v['key-from'], '--key-from');
      if (kitIdOf(key) !== m.kit_id) throw new Error(`--key-from is not the key this backup was made with (kit ${kitIdOf(key)}, the backup's ${m.kit_id})`);
    } else if (m.key_file) {
      const text = open(m.key_file).toString('utf8').trim();
      if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`the backup's ${m.key_file} is not a key file`);
      key = Buffer.from(text, 'hex');
    } else {
      throw new UsageError(`snapshot ${snap.id.slice(0, 8)} was made --without-key: combine the recovery kit ('restic-manager server recovery-kit combine') and give --key-from`);
    }
    const dbPlain = path.join(tmp, 'database');
    writePrivate(dbPlain, open(m.database_file));
    if (m.store === 'sqlite') {
      if (paths.databaseUrl) throw new UsageError('this backup holds a SQLite database; unset RM_DATABASE_URL to restore it');
      checkSqlite(dbPlain);
      copyFileSync(dbPlain, path.join(paths.dataDir, SQLITE_FILE));
    } else {
      if (!paths.databaseUrl) throw new UsageError('this backup holds a PostgreSQL dump: set RM_DATABASE_URL to the database to restore it into');
      await restorePostgres(paths.databaseUrl, dbPlain);
    }
    privateDir(path.dirname(paths.secretKeyFile), 'key directory', true);
    writePrivate(paths.secretKeyFile, `${key.toString('hex')}\n`);
    // The proof that matters: the key opens what the database sealed.
    const view = openStoreView(paths);
    let repositories: number;
    try {
      repositories = (await exportRepositories(view.db, key)).repositories.length;
    } catch (e) {
      throw new Error(`the restored key does not open the restored database's credentials: ${(e as Error).message}`, { cause: e });
    } finally {
      await view.close();
    }
    const result = { snapshot_id: snap.id, store: m.store, repositories, data_dir: paths.dataDir };
    process.stdout.write(v.json ? `${JSON.stringify(result)}\n` : `restored snapshot ${snap.id.slice(0, 8)} (${m.store}) into ${paths.dataDir}; the key opens all ${repositories} repositories' credentials\n`);
    return ADMIN_EXIT.ok;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const restoreCommand: Command = {
  summary: 'Rebuild a data directory from a control-plane backup',
  help: RESTORE_HELP,
  run: guarded('restore', RESTORE_HELP, runRestore),
};
