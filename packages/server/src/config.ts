import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { OidcConfig, OidcInput } from './oidc-config.js';
import { OIDC_ENV, OIDC_YAML_KEYS, resolveOidc } from './oidc-config.js';
import { checkDatabaseUrl } from './database-url.js';

/** Fully resolved server configuration (spec §4.1). */
export interface ServerConfig {
  listenHost: string;
  /** 0 = ephemeral port; the bound port is reported by startServer. */
  listenPort: number;
  dataDir: string;
  /** PostgreSQL store (RM_DATABASE_URL, holds the password: never print it); null = SQLite in dataDir. */
  databaseUrl: string | null;
  /** Public URL agents and browsers use; null = derived from the bound address. */
  baseUrl: string | null;
  secretKeyFile: string;
  /** CIDRs whose X-Forwarded-For / X-Forwarded-Proto are honoured. Empty = trust no one. */
  trustedProxies: string[];
  cookieSecure: boolean;
  /** Bootstrap admin password (first run only). Generated and printed once when absent. */
  adminPassword: string | null;
  /** Bearer token protecting /metrics; null = loopback/allow-list only. */
  metricsToken: string | null;
  /** CIDRs allowed to scrape /metrics without a token. */
  metricsAllow: string[];
  /** Directory holding install.sh (served at /install/install.sh). */
  installDir: string | null;
  /** agent.tgz served at /install/agent.tgz (default: packages/agent/pack/agent.tgz). */
  agentTarball: string | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** A host with no heartbeat for this long is offline (default 90 s). */
  agentTimeoutMs: number;
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  /** OIDC sign-in (RM_OIDC_*); null = not configured. */
  oidc: OidcConfig | null;
  /** False when RM_OIDC_ALLOW_PASSWORD_LOGIN=false (only with OIDC configured). */
  passwordLogin: boolean;
  /** RM_NOTIFY_ALLOW_PRIVATE=true: webhook/ntfy channels may target loopback and private addresses (default false). */
  notifyAllowPrivate: boolean;
  /** RM_DOWNLOAD_MAX_BYTES: the largest file or folder (sum of file sizes) a browser may download; 0 = no limit (default 10 GiB). */
  downloadMaxBytes: number;
  /** RM_SLOT_LEASE_SECONDS (issue 21): how long a held concurrency slot outlives its agent's socket (default 120 s). */
  slotLeaseMs: number;
  /** RM_DATABASE_POOL (issue 17): connections this process keeps to PostgreSQL at most (default 10; the bus listener takes one more). */
  databasePool: number;
  /**
   * RM_CLUSTER_URL (issue 17): the URL the other server replicas reach this one at (downloads of
   * the agents it holds, docs/scale-out.md); null = derived from the listen address once bound,
   * when that is a concrete address (not 0.0.0.0 or ::).
   */
  clusterUrl: string | null;
}

/** Raw settings before validation: environment names map to these keys. */
export interface ServerConfigInput extends OidcInput {
  listen?: string;
  dataDir?: string;
  /** RM_DATABASE_URL (postgres://…); unset = the embedded SQLite database. */
  databaseUrl?: string | null;
  baseUrl?: string | null;
  secretKeyFile?: string;
  trustedProxy?: string;
  cookieSecure?: string | boolean;
  adminPassword?: string | null;
  metricsToken?: string | null;
  metricsAllow?: string;
  installDir?: string | null;
  agentTarball?: string | null;
  logLevel?: string;
  agentTimeoutMs?: number;
  sessionIdleMs?: number;
  sessionAbsoluteMs?: number;
  notifyAllowPrivate?: string | boolean;
  downloadMaxBytes?: string | number;
  slotLeaseSeconds?: string | number;
  databasePool?: string | number;
  clusterUrl?: string | null;
}

/** A configuration problem; `variable` names the setting (e.g. RM_LISTEN). */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`invalid configuration: ${variable}: ${problem}`);
  }
}

const ENV: Record<keyof ServerConfigInput, string> = {
  ...OIDC_ENV,
  listen: 'RM_LISTEN',
  dataDir: 'RM_DATA_DIR',
  databaseUrl: 'RM_DATABASE_URL',
  baseUrl: 'RM_BASE_URL',
  secretKeyFile: 'RM_SECRET_KEY_FILE',
  trustedProxy: 'RM_TRUSTED_PROXY',
  cookieSecure: 'RM_COOKIE_SECURE',
  adminPassword: 'RM_ADMIN_PASSWORD',
  metricsToken: 'RM_METRICS_TOKEN',
  metricsAllow: 'RM_METRICS_ALLOW',
  installDir: 'RM_INSTALL_DIR',
  agentTarball: 'RM_AGENT_TARBALL',
  logLevel: 'RM_LOG_LEVEL',
  agentTimeoutMs: 'RM_AGENT_TIMEOUT_MS',
  sessionIdleMs: 'RM_SESSION_IDLE_MS',
  sessionAbsoluteMs: 'RM_SESSION_ABSOLUTE_MS',
  notifyAllowPrivate: 'RM_NOTIFY_ALLOW_PRIVATE',
  downloadMaxBytes: 'RM_DOWNLOAD_MAX_BYTES',
  slotLeaseSeconds: 'RM_SLOT_LEASE_SECONDS',
  databasePool: 'RM_DATABASE_POOL',
  clusterUrl: 'RM_CLUSTER_URL',
};

/** YAML keys (snake_case) accepted in the file named by RM_CONFIG_FILE. */
const YAML_KEYS: Record<string, keyof ServerConfigInput> = {
  ...OIDC_YAML_KEYS,
  listen: 'listen',
  data_dir: 'dataDir',
  base_url: 'baseUrl',
  secret_key_file: 'secretKeyFile',
  trusted_proxy: 'trustedProxy',
  cookie_secure: 'cookieSecure',
  metrics_token: 'metricsToken',
  metrics_allow: 'metricsAllow',
  install_dir: 'installDir',
  agent_tarball: 'agentTarball',
  log_level: 'logLevel',
  notify_allow_private: 'notifyAllowPrivate',
  download_max_bytes: 'downloadMaxBytes',
  slot_lease_seconds: 'slotLeaseSeconds',
  database_pool: 'databasePool',
  cluster_url: 'clusterUrl',
};

/**
 * Reads RM_* variables, layered over the optional YAML file named by RM_CONFIG_FILE
 * (environment wins). Throws ConfigError naming the offending variable.
 */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const input: ServerConfigInput = {};
  const file = env.RM_CONFIG_FILE;
  if (file) Object.assign(input, readYamlConfig(file));
  for (const [key, name] of Object.entries(ENV) as [keyof ServerConfigInput, string][]) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (key === 'agentTimeoutMs' || key === 'sessionIdleMs' || key === 'sessionAbsoluteMs') {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new ConfigError(name, `expected a positive integer of milliseconds, got '${v}'`);
      input[key] = n;
    } else {
      (input as Record<string, unknown>)[key] = v;
    }
  }
  return resolveConfig(input);
}

function readYamlConfig(file: string): ServerConfigInput {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError('RM_CONFIG_FILE', `cannot read ${file}: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('RM_CONFIG_FILE', `${file} must be a YAML mapping`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = YAML_KEYS[k];
    if (!key) throw new ConfigError('RM_CONFIG_FILE', `${file}: unknown key '${k}' (admin_password belongs in RM_ADMIN_PASSWORD)`);
    out[key] = Array.isArray(v) ? v.join(',') : typeof v === 'boolean' || typeof v === 'number' ? String(v) : v;
  }
  return out as ServerConfigInput;
}

/** Validates and fills defaults. Throws ConfigError naming the RM_* variable at fault. */
export function resolveConfig(input: ServerConfigInput): ServerConfig {
  const { host, port } = parseListen(input.listen ?? ':8080');
  if (!input.dataDir) throw new ConfigError('RM_DATA_DIR', 'required (directory for the database and secret key)');
  const dataDir = path.resolve(input.dataDir);
  const baseUrl = input.baseUrl ? parseBaseUrl(input.baseUrl) : null;
  const logLevel = input.logLevel ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('RM_LOG_LEVEL', `expected one of fatal,error,warn,info,debug,trace,silent, got '${logLevel}'`);
  }
  const oidc = resolveOidc(input, baseUrl, (v, problem) => new ConfigError(v, problem));
  const passwordLogin = parseBool('RM_OIDC_ALLOW_PASSWORD_LOGIN', input.oidcAllowPasswordLogin ?? true);
  if (!passwordLogin && !oidc) throw new ConfigError('RM_OIDC_ALLOW_PASSWORD_LOGIN', 'false needs RM_OIDC_ISSUER (otherwise nobody could sign in)');
  return {
    listenHost: host,
    listenPort: port,
    dataDir,
    databaseUrl: checkDatabaseUrl(input.databaseUrl, (problem) => new ConfigError('RM_DATABASE_URL', problem)),
    baseUrl,
    secretKeyFile: path.resolve(input.secretKeyFile ?? path.join(dataDir, 'secret.key')),
    trustedProxies: parseCidrList('RM_TRUSTED_PROXY', input.trustedProxy ?? ''),
    cookieSecure: parseBool('RM_COOKIE_SECURE', input.cookieSecure ?? true),
    adminPassword: input.adminPassword ?? null,
    metricsToken: input.metricsToken ?? null,
    metricsAllow: parseCidrList('RM_METRICS_ALLOW', input.metricsAllow ?? '127.0.0.0/8,::1/128'),
    installDir: input.installDir ?? null,
    agentTarball: input.agentTarball ?? null,
    logLevel: logLevel as ServerConfig['logLevel'],
    agentTimeoutMs: input.agentTimeoutMs ?? 90_000,
    sessionIdleMs: input.sessionIdleMs ?? 30 * 60_000,
    sessionAbsoluteMs: input.sessionAbsoluteMs ?? 12 * 3_600_000,
    oidc,
    passwordLogin,
    notifyAllowPrivate: parseBool('RM_NOTIFY_ALLOW_PRIVATE', input.notifyAllowPrivate ?? false),
    downloadMaxBytes: parseBytes('RM_DOWNLOAD_MAX_BYTES', input.downloadMaxBytes ?? DEFAULT_DOWNLOAD_MAX_BYTES),
    slotLeaseMs: parseSlotLease(input.slotLeaseSeconds ?? 120),
    databasePool: parseDatabasePool(input.databasePool ?? 10),
    clusterUrl: input.clusterUrl ? parseClusterUrl(input.clusterUrl) : null,
  };
}

/** RM_DATABASE_POOL: an integer from 2 to 200. */
function parseDatabasePool(v: string | number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 200) throw new ConfigError('RM_DATABASE_POOL', `expected a whole number of connections from 2 to 200, got '${String(v)}'`);
  return n;
}

/** RM_SLOT_LEASE_SECONDS: an integer from 2 to 86400. */
function parseSlotLease(v: string | number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 86_400) throw new ConfigError('RM_SLOT_LEASE_SECONDS', `expected whole seconds from 2 to 86400, got '${String(v)}'`);
  return n * 1000;
}

function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v.trim());
  if (!m) throw new ConfigError('RM_LISTEN', `expected [host]:port such as ':8080' or '127.0.0.1:8080', got '${v}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError('RM_LISTEN', `port ${port} is out of range 0-65535`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  return { host, port };
}

function parseBaseUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError('RM_BASE_URL', `not a URL: '${v}'`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('RM_BASE_URL', 'must start with http:// or https://');
  if (u.username || u.password) throw new ConfigError('RM_BASE_URL', 'must not contain credentials');
  return u.toString().replace(/\/+$/, '');
}

/** RM_CLUSTER_URL: http(s)://host[:port] with no credentials, path, query or fragment. */
function parseClusterUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError('RM_CLUSTER_URL', `not a URL: '${v}' (expected e.g. http://10.0.0.5:8080)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('RM_CLUSTER_URL', 'must start with http:// or https://');
  if (u.username || u.password) throw new ConfigError('RM_CLUSTER_URL', 'must not contain credentials');
  if (u.pathname !== '/' || u.search || u.hash) throw new ConfigError('RM_CLUSTER_URL', `must be only scheme, host and port (e.g. http://10.0.0.5:8080), got '${v}'`);
  return u.origin;
}

/**
 * The URL other replicas reach this one at when RM_CLUSTER_URL is unset: plain HTTP on the
 * listen address and the bound port; null for a wildcard address (0.0.0.0, ::), which names no
 * interface another machine could dial.
 */
export function derivedClusterUrl(listenHost: string, port: number): string | null {
  if (listenHost === '' || listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '[::]') return null;
  return `http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`;
}

/** Default RM_DOWNLOAD_MAX_BYTES: 10 GiB. */
export const DEFAULT_DOWNLOAD_MAX_BYTES = 10 * 1024 ** 3;

/** A byte count: digits with an optional K, M, G or T suffix (powers of 1024); 0 allowed. */
function parseBytes(name: string, v: string | number): number {
  const m = /^(\d{1,16})\s*([KMGT]i?B?)?$/i.exec(String(v).trim());
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[(m?.[2] ?? '').charAt(0).toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  const n = m ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n)) throw new ConfigError(name, `expected a number of bytes such as 1073741824 or 10G (0 = no limit), got '${String(v)}'`);
  return n;
}

function parseBool(name: string, v: string | boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new ConfigError(name, `expected true or false, got '${v}'`);
}

function parseCidrList(name: string, v: string): string[] {
  const out: string[] = [];
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [addr, bits] = part.split('/');
    const fam = isIP(addr ?? '');
    const max = fam === 4 ? 32 : 128;
    const n = bits === undefined ? max : Number(bits);
    if (!fam || !Number.isInteger(n) || n < 0 || n > max) throw new ConfigError(name, `'${part}' is not a CIDR such as 10.0.0.0/8`);
    out.push(`${addr}/${n}`);
  }
  return out;
}
