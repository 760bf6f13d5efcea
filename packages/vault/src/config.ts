/**
 * The vault configuration: vaultik's YAML format unchanged, plus optional extension
 * keys (marked "extension" below). Unknown keys and bad values fail with the key named.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { X25519Recipient } from './age/index.js';
import { parseDuration, parseSize } from './units.js';

export interface S3Settings {
  endpoint?: string;
  bucket: string;
  prefix: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region: string;
  /** extension: PEM file of a private CA for the endpoint's certificate. */
  caCert?: string;
  /** extension: path-style addressing (default true when an endpoint is given). */
  forcePathStyle?: boolean;
}

export interface VaultConfig {
  sourceDirs: string[];
  exclude: string[];
  ageRecipient: X25519Recipient;
  s3?: S3Settings;
  /** extension: back up to a local directory instead of S3 (tests, embedded default). */
  localDir?: string;
  backupIntervalMs: number;
  fullScanIntervalMs: number;
  minTimeBetweenRunMs: number;
  indexPath: string;
  /** Average chunk size of the content-defined chunker. */
  chunkSize: number;
  /** Upper bound for a blob; blobs are closed at min(blob_size_limit, pack_size). */
  blobSizeLimit: number;
  /** extension: target blob size (default 16 MiB). Bounds memory: one blob buffered per upload slot. */
  packSize: number;
  indexPrefix: string;
  /** extension: zstd level (default 3). */
  compressionLevel: number;
}

export const DEFAULTS = {
  chunkSize: 1024 * 1024,
  blobSizeLimit: 10 * 1000 ** 3,
  packSize: 16 * 1024 * 1024,
  backupInterval: '1h',
  fullScanInterval: '24h',
  minTimeBetweenRun: '15m',
  indexPrefix: 'index/',
  compressionLevel: 3,
} as const;

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseSize(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const schema = z.strictObject({
  source_dirs: z.array(z.string().min(1)).min(1, 'at least one source directory is required'),
  exclude: z.array(z.string()).default([]),
  age_recipient: z.string().min(1),
  s3: z
    .strictObject({
      endpoint: z.string().url().optional(),
      bucket: z.string().min(1),
      prefix: z.string().default(''),
      access_key_id: z.string().optional(),
      secret_access_key: z.string().optional(),
      region: z.string().default('us-east-1'),
      ca_cert: z.string().optional(),
      force_path_style: z.boolean().optional(),
    })
    .optional(),
  local_dir: z.string().min(1).optional(),
  backup_interval: duration.default(parseDuration(DEFAULTS.backupInterval)),
  full_scan_interval: duration.default(parseDuration(DEFAULTS.fullScanInterval)),
  min_time_between_run: duration.default(parseDuration(DEFAULTS.minTimeBetweenRun)),
  index_path: z.string().min(1).optional(),
  chunk_size: size.default(DEFAULTS.chunkSize),
  blob_size_limit: size.default(DEFAULTS.blobSizeLimit),
  pack_size: size.default(DEFAULTS.packSize),
  index_prefix: z.string().default(DEFAULTS.indexPrefix),
  compression_level: z.number().int().min(1).max(19).default(DEFAULTS.compressionLevel),
});

/** A config problem; the message names the offending key. */
export class ConfigError extends Error {
  readonly code = 'CONFIG';
}

function defaultIndexPath(): string {
  const base = process.getuid?.() === 0 ? '/var/lib/vaultik' : path.join(os.homedir(), '.cache', 'vaultik');
  return path.join(base, 'index.sqlite');
}

/** Validates an already-parsed YAML document. `baseDir` resolves relative paths. */
export function parseConfig(doc: unknown, baseDir = process.cwd()): VaultConfig {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('config: expected a YAML mapping at the top level');
  const r = schema.safeParse(doc);
  if (!r.success) {
    const msgs = r.error.issues.map((i) => {
      const key = i.path.join('.') || '(top level)';
      if (i.code === 'unrecognized_keys') return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${[...i.path, k].join('.')}'`).join(', ')}`;
      return `${key}: ${i.message}`;
    });
    throw new ConfigError(`config: ${msgs.join('; ')}`);
  }
  const c = r.data;
  let recipient: X25519Recipient;
  try {
    recipient = X25519Recipient.parse(c.age_recipient);
  } catch (e) {
    throw new ConfigError(`config: age_recipient: ${(e as Error).message}`, { cause: e });
  }
  if (!c.s3 && !c.local_dir) throw new ConfigError('config: s3: required (or set the extension key local_dir)');
  if (c.chunk_size < 64 * 1024 || c.chunk_size > 64 * 1024 * 1024) throw new ConfigError('config: chunk_size: must be between 64KiB and 64MiB');
  if (c.blob_size_limit < c.chunk_size) throw new ConfigError('config: blob_size_limit: must be at least chunk_size');
  if (c.pack_size < 1024 * 1024) throw new ConfigError('config: pack_size: must be at least 1MiB');
  const resolve = (p: string): string => path.resolve(baseDir, p);
  const cfg: VaultConfig = {
    sourceDirs: c.source_dirs.map(resolve),
    exclude: c.exclude,
    ageRecipient: recipient,
    backupIntervalMs: c.backup_interval,
    fullScanIntervalMs: c.full_scan_interval,
    minTimeBetweenRunMs: c.min_time_between_run,
    indexPath: c.index_path ? resolve(c.index_path) : defaultIndexPath(),
    chunkSize: c.chunk_size,
    blobSizeLimit: c.blob_size_limit,
    packSize: c.pack_size,
    indexPrefix: c.index_prefix,
    compressionLevel: c.compression_level,
  };
  if (c.local_dir) cfg.localDir = resolve(c.local_dir);
  if (c.s3) {
    cfg.s3 = { bucket: c.s3.bucket, prefix: c.s3.prefix, region: c.s3.region };
    if (c.s3.endpoint) cfg.s3.endpoint = c.s3.endpoint;
    if (c.s3.access_key_id) cfg.s3.accessKeyId = c.s3.access_key_id;
    if (c.s3.secret_access_key) cfg.s3.secretAccessKey = c.s3.secret_access_key;
    if (c.s3.ca_cert) cfg.s3.caCert = resolve(c.s3.ca_cert);
    if (c.s3.force_path_style !== undefined) cfg.s3.forcePathStyle = c.s3.force_path_style;
  }
  return cfg;
}

/** Reads and validates a config file. */
export function loadConfig(file: string): VaultConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config: ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return parseConfig(doc, path.dirname(path.resolve(file)));
}
