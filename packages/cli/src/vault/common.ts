/**
 * Shared plumbing for `restic-manager vault …`: exit codes, the private key from the
 * environment, and turning `<bucket> <prefix>` (+ env / --config) into a Storage.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, LocalStorage, openS3Storage, X25519Identity, type S3Settings, type S3StorageOptions, type Storage, type VaultConfig } from '@restic-manager/vault';

/** Exit codes of every vault subcommand. */
export const VAULT_EXIT = {
  ok: 0,
  /** Configuration, key, storage or I/O error: nothing was committed or deleted. */
  failed: 1,
  usage: 2,
  /** Finished, but some data is damaged or some source files could not be read. */
  partial: 3,
  /** Refused: another prune is running (prune). */
  busy: 4,
} as const;

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<T extends Options>(argv: string[], options: T): { values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>['values']; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
}

/**
 * The private key from VAULTIK_AGE_SECRET_KEY (today's vaultik) or VAULTIK_PRIVATE_KEY (the
 * seed's): the key itself, or a path to an age identity file. Both set to different values is an error.
 */
export function identityFromEnv(): X25519Identity {
  const fromNew = process.env.VAULTIK_AGE_SECRET_KEY || undefined;
  const fromOld = process.env.VAULTIK_PRIVATE_KEY || undefined;
  if (fromNew && fromOld && fromNew.trim() !== fromOld.trim()) {
    throw new Error('VAULTIK_AGE_SECRET_KEY and VAULTIK_PRIVATE_KEY are both set and differ; set only one');
  }
  const name = fromNew ? 'VAULTIK_AGE_SECRET_KEY' : 'VAULTIK_PRIVATE_KEY';
  const raw = fromNew ?? fromOld;
  if (!raw) throw new Error('VAULTIK_AGE_SECRET_KEY (or VAULTIK_PRIVATE_KEY) is not set (the AGE-SECRET-KEY-1… identity, or a path to an age key file)');
  let text = raw.trim();
  if (!text.startsWith('AGE-SECRET-KEY-1')) {
    try {
      text = readFileSync(text, 'utf8');
    } catch {
      throw new Error(`${name} is neither an AGE-SECRET-KEY-1… identity nor a readable key file`);
    }
    const line = text.split('\n').find((l) => l.trim().startsWith('AGE-SECRET-KEY-1'));
    if (!line) throw new Error(`${name} file contains no AGE-SECRET-KEY-1… line`);
    text = line.trim();
  }
  return X25519Identity.parse(text);
}

export interface Target {
  storage: Storage;
  indexPrefix: string;
}

/**
 * `<bucket>` starting with `/`, `./` or `file:` is a local directory (the prefix is a
 * subdirectory); anything else is an S3 bucket. S3 endpoint and credentials come from
 * --config's s3 section, overridden by VAULTIK_S3_ENDPOINT, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION and VAULTIK_S3_CA_CERT.
 */
export async function targetFrom(bucket: string | undefined, prefix: string | undefined, configFile: string | undefined, indexPrefixFlag: string | undefined): Promise<Target> {
  const file = configFile ?? (bucket === undefined ? process.env.VAULTIK_CONFIG : undefined);
  const cfg: VaultConfig | undefined = file ? loadConfig(file) : undefined;
  const indexPrefix = indexPrefixFlag ?? cfg?.indexPrefix ?? 'index/';
  if (bucket === undefined) {
    if (!cfg) throw new UsageError('give <bucket> <prefix>, --config <file> or VAULTIK_CONFIG');
    return { storage: await storageFromConfig(cfg), indexPrefix };
  }
  if (bucket.startsWith('/') || bucket.startsWith('./') || bucket.startsWith('file:')) {
    const dir = bucket.startsWith('file:') ? bucket.slice(5) : bucket;
    return { storage: new LocalStorage(path.join(dir, prefix ?? '')), indexPrefix };
  }
  return { storage: await openS3Storage(s3Options(bucket, prefix, cfg?.s3, 'env')), indexPrefix };
}

/**
 * S3 options from a config's s3 section and the environment (VAULTIK_S3_ENDPOINT,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, VAULTIK_S3_CA_CERT). `first`
 * says which wins when both are set: the environment for restore-side commands, the
 * config file for `backup`.
 */
function s3Options(bucket: string, prefix: string | undefined, s3: S3Settings | undefined, first: 'env' | 'config'): S3StorageOptions {
  const env = process.env;
  const pick = (fromEnv: string | undefined, fromCfg: string | undefined): string | undefined => (first === 'env' ? (fromEnv ?? fromCfg) : (fromCfg ?? fromEnv));
  const endpoint = pick(env.VAULTIK_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL, s3?.endpoint);
  const accessKeyId = pick(env.AWS_ACCESS_KEY_ID, s3?.accessKeyId);
  const secretAccessKey = pick(env.AWS_SECRET_ACCESS_KEY, s3?.secretAccessKey);
  const caCertPath = pick(env.VAULTIK_S3_CA_CERT, s3?.caCert);
  return {
    bucket,
    prefix: prefix ?? s3?.prefix ?? '',
    region: pick(env.AWS_REGION, s3?.region) ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId ? { accessKeyId } : {}),
    ...(secretAccessKey ? { secretAccessKey } : {}),
    ...(caCertPath ? { caCertPath } : {}),
    ...(s3?.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle } : {}),
  };
}

export async function storageFromConfig(cfg: VaultConfig): Promise<Storage> {
  if (cfg.localDir) return new LocalStorage(cfg.localDir);
  const s3 = cfg.s3!;
  return openS3Storage(s3Options(s3.bucket, s3.prefix, s3, 'config'));
}

/** Error text for the user: the message only, never a stack or a secret. */
export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function printJson(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}
