/**
 * Shared plumbing of `restic-manager server backup | restore | recovery-kit`: flag parsing, where
 * the server keeps its state, and writing private files.
 */
import { chmodSync, mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfigFromEnv } from '@restic-manager/server';
import { parseRecipients as parseAgeRecipients } from '@restic-manager/server/controlplane';
import type { ServerPaths } from '@restic-manager/server/controlplane';
import type { X25519Recipient } from '@restic-manager/vault';

/** Exit codes of the server administration subcommands. */
export const ADMIN_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Bad flags or arguments: the command prints the message and its help, and exits 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<T extends Options>(argv: string[], options: T): ReturnType<typeof parseArgs<{ options: T; allowPositionals: false; strict: true }>>['values'] {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values;
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
}

/** The flags every subcommand that reads a server's state takes. */
export const PATH_FLAGS = {
  'data-dir': { type: 'string' },
  'key-file': { type: 'string' },
} as const;

export const PATH_HELP = `  --data-dir <dir>   the server's data directory                        [$RM_DATA_DIR]
  --key-file <file>  the secret key file             [$RM_SECRET_KEY_FILE or <data-dir>/secret.key]
  (RM_DATABASE_URL and RM_CONFIG_FILE are read as the server reads them)`;

/** The server's data directory, key file and database from the flags over the server's own configuration. */
export function serverPaths(flags: { 'data-dir'?: string | undefined; 'key-file'?: string | undefined }, env: NodeJS.ProcessEnv = process.env): ServerPaths {
  const overlay: NodeJS.ProcessEnv = { ...env };
  if (flags['data-dir']) overlay.RM_DATA_DIR = flags['data-dir'];
  if (flags['key-file']) overlay.RM_SECRET_KEY_FILE = flags['key-file'];
  try {
    const c = loadConfigFromEnv(overlay);
    return { dataDir: c.dataDir, secretKeyFile: c.secretKeyFile, databaseUrl: c.databaseUrl };
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}

/** Creates `dir` (0700) if missing; refuses a directory that already holds files unless `allowFull`. */
export function privateDir(dir: string, what: string, allowFull = false): void {
  if (existsSync(dir) && !allowFull && readdirSync(dir).length > 0) throw new UsageError(`${what} ${dir} is not empty; give an empty or new directory`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Writes a file only its owner can read (created new: an existing file is never overwritten). */
export function writePrivate(file: string, data: string | Uint8Array): void {
  writeFileSync(file, data, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

/** Reads all of stdin (bounded: shares and keys are small). */
export async function readStdin(max = 1 << 20): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) throw new UsageError(`standard input is larger than ${max} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** `--recipient age1…` values as age recipients; a bad one is a usage error naming the flag. */
export function parseRecipients(values: string[] | undefined): X25519Recipient[] {
  try {
    return parseAgeRecipients(values ?? []);
  } catch (e) {
    throw new UsageError(`--recipient: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * `run` as a subcommand's entry: a UsageError prints `restic-manager server <name>: …` and the
 * help (exit 2), any other error its message (exit 1).
 */
export function guarded(name: string, help: string, run: (argv: string[]) => Promise<number>): (argv: string[]) => Promise<number> {
  return async (argv) => {
    try {
      return await run(argv);
    } catch (e) {
      if (e instanceof UsageError) {
        process.stderr.write(`restic-manager server ${name}: ${e.message}\n\n${help}\n`);
        return ADMIN_EXIT.usage;
      }
      process.stderr.write(`restic-manager server ${name}: ${(e as Error).message}\n`);
      return ADMIN_EXIT.failed;
    }
  };
}
