/**
 * The vault configuration: vaultik's configuration in both of its forms — the seed's
 * (`source_dirs`, `age_recipient`, `s3:`) and today's (`snapshots: <name>: {paths, exclude}`,
 * `age_recipients:`, `storage_url:`) — plus optional extension keys (marked "extension").
 * A file may mix the forms where they agree; a contradiction, an unknown key or a bad
 * value fails with the key named. The repository format is this project's own.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { X25519Recipient } from './age/index.js';
import { Fields } from './config-fields.js';
import { expandHome, parseStorageUrl } from './config-storage.js';
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

/** One named set of paths backed up into its own snapshot (vaultik's `snapshots: <name>:`). */
export interface SnapshotSource {
  /** '' for the seed form's single `source_dirs` set. */
  name: string;
  paths: string[];
  /** This set's own patterns; the top-level `exclude` applies as well. */
  exclude: string[];
}

export interface VaultConfig {
  /** Every path of every snapshot set (what the daemon watches). */
  sourceDirs: string[];
  /** Top-level exclude patterns, applied to every snapshot set. */
  exclude: string[];
  snapshots: SnapshotSource[];
  /** Every recipient gets a stanza in each blob and metadata object: any one identity restores. */
  ageRecipients: X25519Recipient[];
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

const TOP_KEYS = [
  'source_dirs', 'snapshots', 'exclude', 'age_recipient', 'age_recipients', 'age_secret_key', 's3', 'storage_url', 'local_dir',
  'backup_interval', 'full_scan_interval', 'min_time_between_run', 'index_path', 'chunk_size', 'blob_size_limit', 'pack_size',
  'index_prefix', 'compression_level',
] as const;
const S3_KEYS = ['endpoint', 'bucket', 'prefix', 'access_key_id', 'secret_access_key', 'region', 'ca_cert', 'force_path_style'] as const;
const SNAPSHOT_KEYS = ['paths', 'exclude'] as const;
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

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

/** `source_dirs` (seed) or `snapshots:` (today's vaultik); both at once is a contradiction. */
function readSnapshots(f: Fields): SnapshotSource[] | undefined {
  if (f.has('source_dirs') && f.has('snapshots')) {
    f.problems.push('source_dirs and snapshots: use one form — source_dirs (one snapshot) or snapshots: <name>: {paths, exclude}');
    return undefined;
  }
  if (!f.has('snapshots')) {
    const dirs = f.strings('source_dirs', 'at least one source directory is required (or use snapshots: <name>: {paths})');
    return dirs ? [{ name: '', paths: dirs, exclude: [] }] : undefined;
  }
  const entries = f.entries('snapshots');
  if (!entries) return undefined;
  if (entries.length === 0) return f.fail('snapshots', 'at least one named snapshot is required');
  const out: SnapshotSource[] = [];
  for (const [name, v] of entries) {
    if (!SNAPSHOT_NAME.test(name)) {
      f.fail(`snapshots.${name}`, 'a snapshot name uses letters, digits, ".", "_" and "-" only');
      continue;
    }
    const sf = f.sub(`snapshots.${name}`, v, SNAPSHOT_KEYS);
    const paths = sf?.strings('paths', 'at least one path is required');
    if (sf && paths) out.push({ name, paths, exclude: sf.strings('exclude') ?? [] });
  }
  return out;
}

/** `age_recipient` (seed) and/or `age_recipients` (today's); together they must agree. */
function readRecipients(f: Fields): X25519Recipient[] | undefined {
  if (f.has('age_secret_key')) {
    f.fail('age_secret_key', 'refused: the backed-up host must never hold the private key; give only age_recipients here and VAULTIK_AGE_SECRET_KEY on the machine that restores');
  }
  const one = f.string('age_recipient');
  const many = f.has('age_recipients') ? f.strings('age_recipients', 'at least one recipient is required') : undefined;
  if (one === undefined && many === undefined) {
    if (!f.has('age_recipient') && !f.has('age_recipients')) f.fail('age_recipient', 'required (or age_recipients: a list)');
    return undefined;
  }
  if (one !== undefined && many !== undefined && !many.includes(one)) {
    return f.fail('age_recipient', 'contradicts age_recipients (it is not in that list); use one of the two keys');
  }
  const out: X25519Recipient[] = [];
  const texts = [...new Set(many ?? [one!])];
  texts.forEach((t, i) => {
    try {
      out.push(X25519Recipient.parse(t));
    } catch (e) {
      f.fail(many ? `age_recipients.${i}` : 'age_recipient', (e as Error).message);
    }
  });
  return out.length === texts.length ? out : undefined;
}

/** The storage target from `s3:`, `local_dir:` and `storage_url:`, checked for contradictions. */
function readStorage(f: Fields, resolve: (p: string) => string): { s3?: S3Settings; localDir?: string } {
  const s3f = f.mapping('s3', S3_KEYS);
  const localDir = f.string('local_dir');
  const rawUrl = f.string('storage_url');
  const url = rawUrl === undefined ? undefined : parseStorageUrl(rawUrl);
  if (typeof url === 'string') {
    f.fail('storage_url', url);
    return {};
  }
  const fromS3 = {
    endpoint: s3f?.string('endpoint'),
    bucket: s3f?.string('bucket', { required: url === undefined && localDir === undefined }),
    prefix: s3f?.string('prefix', { allowEmpty: true }),
    region: s3f?.string('region'),
  };
  if (fromS3.endpoint !== undefined && !validUrl(fromS3.endpoint)) f.problems.push('s3.endpoint: expected a URL');
  const contradiction = (key: string, ours: string | undefined, theirs: string | undefined): void => {
    if (ours !== undefined && theirs !== undefined && ours !== theirs) f.fail(key, `contradicts storage_url ('${ours}' vs '${theirs}')`);
  };
  if (url?.kind === 'file') {
    if (fromS3.bucket !== undefined) f.fail('s3.bucket', 'contradicts storage_url (a file:// URL): remove one of them');
    if (localDir !== undefined && resolve(localDir) !== url.path) f.fail('local_dir', `contradicts storage_url ('${resolve(localDir)}' vs '${url.path}')`);
    return { localDir: url.path };
  }
  if (localDir !== undefined && (url !== undefined || fromS3.bucket !== undefined)) {
    f.fail('local_dir', `contradicts ${url ? 'storage_url' : 's3.bucket'}: a config has one target`);
    return {};
  }
  if (localDir !== undefined) return { localDir: resolve(localDir) };
  if (url === undefined && s3f === undefined) return {};
  if (url) {
    contradiction('s3.bucket', fromS3.bucket, url.bucket);
    contradiction('s3.prefix', fromS3.prefix, url.prefix);
    contradiction('s3.endpoint', fromS3.endpoint, url.endpoint);
    contradiction('s3.region', fromS3.region, url.region);
  }
  const s3: S3Settings = {
    bucket: url?.bucket ?? fromS3.bucket ?? '',
    prefix: url?.prefix ?? fromS3.prefix ?? '',
    region: url?.region ?? fromS3.region ?? 'us-east-1',
  };
  const endpoint = url?.endpoint ?? fromS3.endpoint;
  if (endpoint) s3.endpoint = endpoint;
  const accessKeyId = s3f?.string('access_key_id');
  if (accessKeyId) s3.accessKeyId = accessKeyId;
  const secretAccessKey = s3f?.string('secret_access_key');
  if (secretAccessKey) s3.secretAccessKey = secretAccessKey;
  const caCert = s3f?.string('ca_cert');
  if (caCert) s3.caCert = resolve(caCert);
  const forcePathStyle = s3f?.bool('force_path_style');
  if (forcePathStyle !== undefined) s3.forcePathStyle = forcePathStyle;
  return { s3 };
}

/** Validates an already-parsed YAML document. `baseDir` resolves relative paths; `~` is the home directory. */
export function parseConfig(doc: unknown, baseDir = process.cwd()): VaultConfig {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('config: expected a YAML mapping at the top level');
  const problems: string[] = [];
  const resolve = (p: string): string => path.resolve(baseDir, expandHome(p));
  const f = new Fields(doc as Record<string, unknown>, '', TOP_KEYS, problems);
  const snapshots = readSnapshots(f);
  const exclude = f.strings('exclude') ?? [];
  const recipients = readRecipients(f);
  const { s3, localDir } = readStorage(f, resolve);
  const backupInterval = f.parsed('backup_interval', parseDuration, parseDuration(DEFAULTS.backupInterval));
  const fullScanInterval = f.parsed('full_scan_interval', parseDuration, parseDuration(DEFAULTS.fullScanInterval));
  const minTimeBetweenRun = f.parsed('min_time_between_run', parseDuration, parseDuration(DEFAULTS.minTimeBetweenRun));
  const indexPath = f.string('index_path');
  const chunkSize = f.parsed('chunk_size', parseSize, DEFAULTS.chunkSize);
  const blobSizeLimit = f.parsed('blob_size_limit', parseSize, DEFAULTS.blobSizeLimit);
  const packSize = f.parsed('pack_size', parseSize, DEFAULTS.packSize);
  const indexPrefix = f.string('index_prefix', { allowEmpty: true }) ?? DEFAULTS.indexPrefix;
  const compressionLevel = f.int('compression_level', 1, 19, DEFAULTS.compressionLevel);
  if (problems.length > 0 || !snapshots || !recipients) throw new ConfigError(`config: ${problems.join('; ')}`);
  if (!s3 && !localDir) throw new ConfigError('config: s3: required (or storage_url, or the extension key local_dir)');
  if (chunkSize < 64 * 1024 || chunkSize > 64 * 1024 * 1024) throw new ConfigError('config: chunk_size: must be between 64KiB and 64MiB');
  if (blobSizeLimit < chunkSize) throw new ConfigError('config: blob_size_limit: must be at least chunk_size');
  if (packSize < 1024 * 1024) throw new ConfigError('config: pack_size: must be at least 1MiB');
  const sets = snapshots.map((s) => ({ ...s, paths: s.paths.map(resolve) }));
  const cfg: VaultConfig = {
    sourceDirs: [...new Set(sets.flatMap((s) => s.paths))],
    exclude,
    snapshots: sets,
    ageRecipients: recipients,
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
  if (localDir) cfg.localDir = localDir;
  if (s3) cfg.s3 = s3;
  return cfg;
}

/**
 * Reads and validates a config file. vaultik's environment variables: `VAULTIK_CONFIG` names
 * the file when `file` is not given; `VAULTIK_INDEX_PATH` overrides `index_path`.
 */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): VaultConfig {
  const name = file ?? env.VAULTIK_CONFIG;
  if (!name) throw new ConfigError('config: no config file given (pass one, or set VAULTIK_CONFIG)');
  const resolved = expandHome(name);
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (e) {
    throw new ConfigError(`config: cannot read ${resolved}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  let doc: unknown;
  try {
    // YAML 1.2 core schema, like vaultik's Go parser: no timestamps or other implicit types.
    doc = loadYaml(text, { schema: CORE_SCHEMA, filename: resolved });
  } catch (e) {
    throw new ConfigError(`config: ${resolved} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const cfg = parseConfig(doc, path.dirname(path.resolve(resolved)));
  if (env.VAULTIK_INDEX_PATH) cfg.indexPath = path.resolve(expandHome(env.VAULTIK_INDEX_PATH));
  return cfg;
}
