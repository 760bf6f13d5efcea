/**
 * The vault configuration: vaultik's YAML format unchanged, plus optional extension
 * keys (marked "extension" below). Unknown keys and bad values fail with the key named.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
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

/**
 * Reads one mapping of the document, collecting problems (named by key) instead of
 * stopping at the first. Hand-written rather than zod (and YAML read with js-yaml
 * rather than yaml): zod adds ~13 MB and yaml ~9 MB to the backup process's RSS,
 * which the vault's memory target cannot afford (docs/decisions/0009-vault-speed-and-memory.md).
 */
class Fields {
  constructor(
    private readonly doc: Record<string, unknown>,
    private readonly prefix: string,
    known: readonly string[],
    readonly problems: string[],
  ) {
    const unknown = Object.keys(doc).filter((k) => !known.includes(k));
    if (unknown.length > 0) problems.push(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${prefix}${k}'`).join(', ')}`);
  }
  private fail(key: string, msg: string): undefined {
    this.problems.push(`${this.prefix}${key}: ${msg}`);
    return undefined;
  }
  string(key: string, opts: { required?: boolean; allowEmpty?: boolean } = {}): string | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return opts.required ? this.fail(key, 'required') : undefined;
    if (typeof v !== 'string') return this.fail(key, `expected a string, got ${typeof v}`);
    if (v === '' && !opts.allowEmpty) return this.fail(key, 'must not be empty');
    return v;
  }
  strings(key: string, emptyMsg?: string): string[] | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return emptyMsg ? this.fail(key, emptyMsg) : [];
    if (!Array.isArray(v)) return this.fail(key, 'expected a list of strings');
    const bad = v.findIndex((x) => typeof x !== 'string' || (emptyMsg !== undefined && x === ''));
    if (bad >= 0) return this.fail(`${key}.${bad}`, 'expected a non-empty string');
    if (emptyMsg && v.length === 0) return this.fail(key, emptyMsg);
    return v as string[];
  }
  parsed(key: string, parse: (v: string | number) => number, fallback: number): number {
    const v = this.doc[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' && typeof v !== 'number') return this.fail(key, `expected a string or number, got ${typeof v}`) ?? fallback;
    try {
      return parse(v);
    } catch (e) {
      return this.fail(key, (e as Error).message) ?? fallback;
    }
  }
  int(key: string, min: number, max: number, fallback: number): number {
    const v = this.doc[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return this.fail(key, `expected an integer from ${min} to ${max}`) ?? fallback;
    return v;
  }
  bool(key: string): boolean | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail(key, 'expected true or false');
    return v;
  }
  mapping(key: string, known: readonly string[]): Fields | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) return this.fail(key, 'expected a mapping');
    return new Fields(v as Record<string, unknown>, `${this.prefix}${key}.`, known, this.problems);
  }
}

const TOP_KEYS = [
  'source_dirs', 'exclude', 'age_recipient', 's3', 'local_dir', 'backup_interval', 'full_scan_interval', 'min_time_between_run',
  'index_path', 'chunk_size', 'blob_size_limit', 'pack_size', 'index_prefix', 'compression_level',
] as const;
const S3_KEYS = ['endpoint', 'bucket', 'prefix', 'access_key_id', 'secret_access_key', 'region', 'ca_cert', 'force_path_style'] as const;

function validUrl(s: string): boolean {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

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
  const problems: string[] = [];
  const f = new Fields(doc as Record<string, unknown>, '', TOP_KEYS, problems);
  const sourceDirs = f.strings('source_dirs', 'at least one source directory is required');
  const exclude = f.strings('exclude') ?? [];
  const ageRecipient = f.string('age_recipient', { required: true });
  const s3f = f.mapping('s3', S3_KEYS);
  const localDir = f.string('local_dir');
  const backupInterval = f.parsed('backup_interval', parseDuration, parseDuration(DEFAULTS.backupInterval));
  const fullScanInterval = f.parsed('full_scan_interval', parseDuration, parseDuration(DEFAULTS.fullScanInterval));
  const minTimeBetweenRun = f.parsed('min_time_between_run', parseDuration, parseDuration(DEFAULTS.minTimeBetweenRun));
  const indexPath = f.string('index_path');
  const chunkSize = f.parsed('chunk_size', parseSize, DEFAULTS.chunkSize);
  const blobSizeLimit = f.parsed('blob_size_limit', parseSize, DEFAULTS.blobSizeLimit);
  const packSize = f.parsed('pack_size', parseSize, DEFAULTS.packSize);
  const indexPrefix = f.string('index_prefix', { allowEmpty: true }) ?? DEFAULTS.indexPrefix;
  const compressionLevel = f.int('compression_level', 1, 19, DEFAULTS.compressionLevel);
  let s3: S3Settings | undefined;
  if (s3f) {
    const endpoint = s3f.string('endpoint');
    if (endpoint !== undefined && !validUrl(endpoint)) problems.push('s3.endpoint: expected a URL');
    const bucket = s3f.string('bucket', { required: true }) ?? '';
    s3 = { bucket, prefix: s3f.string('prefix', { allowEmpty: true }) ?? '', region: s3f.string('region') ?? 'us-east-1' };
    if (endpoint) s3.endpoint = endpoint;
    const accessKeyId = s3f.string('access_key_id');
    if (accessKeyId) s3.accessKeyId = accessKeyId;
    const secretAccessKey = s3f.string('secret_access_key');
    if (secretAccessKey) s3.secretAccessKey = secretAccessKey;
    const caCert = s3f.string('ca_cert');
    if (caCert) s3.caCert = path.resolve(baseDir, caCert);
    const forcePathStyle = s3f.bool('force_path_style');
    if (forcePathStyle !== undefined) s3.forcePathStyle = forcePathStyle;
  }
  if (problems.length > 0 || !sourceDirs || !ageRecipient) throw new ConfigError(`config: ${problems.join('; ')}`);
  let recipient: X25519Recipient;
  try {
    recipient = X25519Recipient.parse(ageRecipient);
  } catch (e) {
    throw new ConfigError(`config: age_recipient: ${(e as Error).message}`, { cause: e });
  }
  if (!s3 && !localDir) throw new ConfigError('config: s3: required (or set the extension key local_dir)');
  if (chunkSize < 64 * 1024 || chunkSize > 64 * 1024 * 1024) throw new ConfigError('config: chunk_size: must be between 64KiB and 64MiB');
  if (blobSizeLimit < chunkSize) throw new ConfigError('config: blob_size_limit: must be at least chunk_size');
  if (packSize < 1024 * 1024) throw new ConfigError('config: pack_size: must be at least 1MiB');
  const resolve = (p: string): string => path.resolve(baseDir, p);
  const cfg: VaultConfig = {
    sourceDirs: sourceDirs.map(resolve),
    exclude,
    ageRecipient: recipient,
    backupIntervalMs: backupInterval,
    fullScanIntervalMs: fullScanInterval,
    minTimeBetweenRunMs: minTimeBetweenRun,
    indexPath: indexPath ? resolve(indexPath) : defaultIndexPath(),
    chunkSize,
    blobSizeLimit,
    packSize,
    indexPrefix,
    compressionLevel,
  };
  if (localDir) cfg.localDir = resolve(localDir);
  if (s3) cfg.s3 = s3;
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
    // YAML 1.2 core schema, like vaultik's Go parser: no timestamps or other implicit types.
    doc = loadYaml(text, { schema: CORE_SCHEMA, filename: file });
  } catch (e) {
    throw new ConfigError(`config: ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return parseConfig(doc, path.dirname(path.resolve(file)));
}
