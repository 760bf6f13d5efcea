import { z } from 'zod';
import { BandwidthOptions } from './common.js';

/*
 * Repositories as their own objects (issue 15, docs/repositories.md): one schema for the
 * backend, its credentials and the views, used by the REST edge, the web forms, the server's
 * store and the agent. A repository is named by its restic location string (`url`); the
 * backend follows from that string and the credentials must be of the same backend.
 * Credentials are write-only: views carry `<field>_set: true` for secret fields, never values.
 */

export const RepositoryEngine = z.enum(['restic', 'rustic']);
export type RepositoryEngine = z.infer<typeof RepositoryEngine>;

export const RepositoryBackend = z.enum(['local', 'rest', 's3', 'b2', 'azure', 'gcs', 'sftp', 'rclone']);
export type RepositoryBackend = z.infer<typeof RepositoryBackend>;

/** URL prefixes restic understands, by backend (restic's "Preparing a new repository" docs). */
const PREFIXES: readonly (readonly [string, RepositoryBackend])[] = [
  ['local:', 'local'], ['rest:', 'rest'], ['s3:', 's3'], ['b2:', 'b2'], ['azure:', 'azure'],
  ['gs:', 'gcs'], ['sftp:', 'sftp'], ['rclone:', 'rclone'],
];

/** The backend of a restic location string, or null when restic would not accept it. */
export function backendOfUrl(url: string): RepositoryBackend | null {
  if (url.startsWith('/')) return 'local';
  for (const [p, b] of PREFIXES) if (url.startsWith(p)) return url.length > p.length ? b : null;
  return null;
}

/** Why a location string is refused, or null. Credentials never travel inside it. */
export function urlProblem(url: string): string | null {
  const backend = backendOfUrl(url);
  if (!backend) return 'an absolute path, or a restic location starting with local:, rest:, s3:, b2:, azure:, gs:, sftp: or rclone:';
  if (/[\r\n]/.test(url) || url.includes('\u0000')) return 'no line breaks or NUL bytes';
  const userinfo = userInfoOf(url, backend);
  if (userinfo !== null && (backend !== 'sftp' || userinfo.includes(':'))) return 'put credentials in the credentials fields, not in the URL';
  if (backend === 'rest' && !/^rest:https?:\/\//.test(url)) return 'a REST location is rest:http://host:port/path/ or rest:https://…';
  if (backend === 'rclone' && !/^rclone:[A-Za-z0-9_-]+:/.test(url)) return 'an rclone location is rclone:<remote>:<path> (the remote is made from the credentials)';
  return null;
}

/** The `user[:secret]` part of a REST, S3 or SFTP location, or null when it has none. */
function userInfoOf(url: string, backend: RepositoryBackend): string | null {
  if (backend !== 'rest' && backend !== 's3' && backend !== 'sftp') return null;
  let rest = url.slice(url.indexOf(':') + 1);
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  const authority = rest.split('/')[0] ?? '';
  const at = authority.lastIndexOf('@');
  return at < 0 ? null : authority.slice(0, at);
}

const secret = z.string().min(1).max(4096);
// eslint-disable-next-line no-control-regex -- NUL is refused on purpose; \x00 (not \0) so the OpenAPI pattern works in every regex engine
const oneLine = (max: number) => z.string().min(1).max(max).regex(/^[^\r\n\x00]*$/, 'one line, no NUL');

/** Secret fields per backend: stored sealed, never shown, redacted from every line. */
export const SECRET_FIELDS: Readonly<Record<RepositoryBackend, readonly string[]>> = {
  local: [],
  rest: ['password'],
  s3: ['access_key_id', 'secret_access_key', 'session_token'],
  b2: ['account_id', 'account_key'],
  azure: ['account_key', 'sas_token'],
  gcs: ['service_account_json'],
  sftp: ['private_key'],
  rclone: ['options'],
};

export const LocalCredentials = z.object({ backend: z.literal('local') }).strict();
export const RestCredentials = z
  .object({
    backend: z.literal('rest'),
    username: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _ . -').optional(),
    /** REST-server (htpasswd) password. */
    password: secret.optional(),
  })
  .strict();
export const S3Credentials = z
  .object({
    backend: z.literal('s3'),
    access_key_id: oneLine(256),
    secret_access_key: oneLine(4096),
    session_token: oneLine(8192).optional(),
    region: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/, 'a region name such as eu-west-1').optional(),
    /** Path-style bucket addressing (MinIO, s3rver, most self-hosted S3); restic `-o s3.bucket-lookup=path`. */
    path_style: z.boolean().optional(),
  })
  .strict();
export const B2Credentials = z.object({ backend: z.literal('b2'), account_id: oneLine(256), account_key: oneLine(4096) }).strict();
export const AzureCredentials = z
  .object({
    backend: z.literal('azure'),
    account_name: z.string().min(1).max(64).regex(/^[a-z0-9]+$/, 'lower-case letters and digits'),
    account_key: oneLine(4096).optional(),
    sas_token: oneLine(8192).optional(),
  })
  .strict();
export const GcsCredentials = z
  .object({
    backend: z.literal('gcs'),
    project_id: z.string().min(1).max(128).regex(/^[a-z0-9-]+$/, 'a Google Cloud project id'),
    /** The service-account key file's JSON; handed to restic as a 0600 file (GOOGLE_APPLICATION_CREDENTIALS). */
    service_account_json: z.string().min(2).max(65_536).refine(isServiceAccountJson, 'a service-account key file (JSON with "type": "service_account")'),
  })
  .strict();
export const SftpCredentials = z
  .object({
    backend: z.literal('sftp'),
    /** OpenSSH or PEM private key, unencrypted (the agent runs unattended). */
    private_key: z.string().min(32).max(16_384).regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'an OpenSSH or PEM private key'),
    /**
     * The server's known_hosts line(s) (`ssh-keyscan` output). Required: host keys are always
     * checked (StrictHostKeyChecking=yes), never accepted blindly.
     */
// eslint-disable-next-line no-control-regex -- NUL is refused on purpose; \x00 (not \0) so the OpenAPI pattern works in every regex engine
    known_hosts: z.string().min(16).max(16_384).regex(/^[^\x00]*$/, 'no NUL bytes'),
    port: z.number().int().min(1).max(65_535).optional(),
  })
  .strict();
export const RcloneCredentials = z
  .object({
    backend: z.literal('rclone'),
    /** rclone backend type of the remote (`webdav`, `sftp`, `drive`, …). */
    remote_type: z.string().min(1).max(32).regex(/^[a-z0-9]+$/, 'an rclone backend type such as webdav'),
    /** The remote's rclone.conf keys; values may be secret, so all of them are write-only. */
    options: z.record(z.string().regex(/^[a-z0-9_]{1,64}$/, 'rclone option names are lower-case letters, digits and _'), oneLine(4096)).refine((o) => Object.keys(o).length <= 64, 'at most 64 options'),
  })
  .strict();

export const BackendCredentials = z.discriminatedUnion('backend', [
  LocalCredentials, RestCredentials, S3Credentials, B2Credentials, AzureCredentials, GcsCredentials, SftpCredentials, RcloneCredentials,
]);
export type BackendCredentials = z.infer<typeof BackendCredentials>;

function isServiceAccountJson(s: string): boolean {
  try {
    const v = JSON.parse(s) as unknown;
    return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'service_account';
  } catch {
    return false;
  }
}

/** Cross-field rules shared by create and update: URL shape, backend match, Azure key or SAS. */
function credentialIssues(url: string | undefined, creds: BackendCredentials | undefined, ctx: z.RefinementCtx): void {
  if (url !== undefined) {
    const p = urlProblem(url);
    if (p) ctx.addIssue({ code: 'custom', path: ['url'], message: p });
  }
  const backend = url !== undefined ? backendOfUrl(url) : null;
  if (creds && backend && creds.backend !== backend) {
    ctx.addIssue({ code: 'custom', path: ['credentials', 'backend'], message: `the URL is a ${backend} location; these credentials are for ${creds.backend}` });
  }
  if (creds?.backend === 'azure' && !creds.account_key === !creds.sas_token) {
    ctx.addIssue({ code: 'custom', path: ['credentials', 'account_key'], message: 'give exactly one of account_key and sas_token' });
  }
}

/** Backends whose credentials are required (a repository without them cannot be opened). */
export const CREDENTIALS_REQUIRED: readonly RepositoryBackend[] = ['s3', 'b2', 'azure', 'gcs', 'sftp', 'rclone'];

// eslint-disable-next-line no-control-regex -- NUL is refused on purpose; \x00 (not \0) so the OpenAPI pattern works in every regex engine
const name = z.string().min(1).max(128).regex(/^[^\r\n\x00<>]*$/, 'one line, no < or >');
/** PEM CA bundle for a REST or S3 endpoint with a private CA (restic `--cacert`). */
const tlsCaPem = z.string().min(32).max(65_536).regex(/-----BEGIN CERTIFICATE-----/, 'a PEM certificate bundle');

/** `POST /api/repositories`: a new repository, or an existing one imported (`import: true`). */
export const CreateRepositoryRequest = z
  .object({
    name,
    engine: RepositoryEngine.default('restic'),
    url: z.string().min(1).max(2048),
    /** Repository password; generated (24 random bytes, URL-safe) and returned once when absent. Required to import. */
    password: z.string().min(8).max(1024).optional(),
    credentials: BackendCredentials.optional(),
    tls_ca_pem: tlsCaPem.optional(),
    /** Offered where the backend enforces it (REST with a user); true is refused elsewhere. */
    append_only: z.boolean().optional(),
    /** An existing repository: nothing is initialised; its snapshots are read on the first test or job. */
    import: z.boolean().default(false),
  })
  .strict()
  .superRefine((r, ctx) => {
    credentialIssues(r.url, r.credentials, ctx);
    const backend = backendOfUrl(r.url);
    if (backend && CREDENTIALS_REQUIRED.includes(backend) && !r.credentials) {
      ctx.addIssue({ code: 'custom', path: ['credentials'], message: `a ${backend} repository needs its credentials` });
    }
    if (r.import && !r.password) ctx.addIssue({ code: 'custom', path: ['password'], message: 'importing an existing repository needs its password' });
    if (r.append_only && !(backend === 'rest' && r.credentials?.backend === 'rest' && r.credentials.username)) {
      ctx.addIssue({ code: 'custom', path: ['append_only'], message: 'append-only is enforced only by a REST server with a per-host user (rest-server --append-only --private-repos)' });
    }
    if (r.engine === 'rustic' && backend && !RUSTIC_BACKENDS.includes(backend)) {
      ctx.addIssue({ code: 'custom', path: ['engine'], message: `rustic runs here on ${RUSTIC_BACKENDS.join(', ')} repositories; use restic for ${backend}` });
    }
  });
export type CreateRepositoryRequest = z.infer<typeof CreateRepositoryRequest>;

/** Backends the rustic engine is offered for (docs/repositories.md "rustic"). */
export const RUSTIC_BACKENDS: readonly RepositoryBackend[] = ['local', 'rest', 'rclone'];

/** `PATCH /api/repositories/{id}`: absent fields keep their value; `credentials` replaces them whole. */
export const UpdateRepositoryRequest = z
  .object({
    name: name.optional(),
    credentials: BackendCredentials.optional(),
    tls_ca_pem: tlsCaPem.nullable().optional(),
    append_only: z.boolean().optional(),
  })
  .strict();
export type UpdateRepositoryRequest = z.infer<typeof UpdateRepositoryRequest>;

/** Credentials as shown: non-secret fields by value, secret fields as `<field>_set: true`. */
export const CredentialsView = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
export type CredentialsView = z.infer<typeof CredentialsView>;

/** Shows credentials without their secrets. */
export function credentialsView(c: BackendCredentials | null | undefined): CredentialsView {
  if (!c) return {};
  const secrets = SECRET_FIELDS[c.backend];
  const out: CredentialsView = Object.create(null) as CredentialsView;
  for (const [k, v] of Object.entries(c)) {
    if (v === undefined) continue;
    if (secrets.includes(k)) out[`${k}_set`] = true;
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return { ...out };
}

/** The secret values of a repository's credentials and password, for redaction. */
export function credentialSecrets(c: BackendCredentials | null | undefined, password?: string): string[] {
  const out: string[] = password ? [password] : [];
  if (!c) return out;
  for (const k of SECRET_FIELDS[c.backend]) {
    const v = (c as Record<string, unknown>)[k];
    if (typeof v === 'string') out.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) if (typeof x === 'string') out.push(x);
  }
  return out;
}

export const RepositoryView = z.object({
  id: z.string(),
  name: z.string(),
  engine: RepositoryEngine,
  backend: RepositoryBackend,
  url: z.string(),
  credentials: CredentialsView,
  password_set: z.boolean(),
  tls_ca_set: z.boolean(),
  append_only: z.boolean(),
  maintenance_credential_set: z.boolean(),
  size_bytes: z.number().nullable(),
  snapshot_count: z.number().int().nullable(),
  host_ids: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string().nullable(),
  /**
   * Set while forget/prune on this repository is frozen (issue 16, docs/recoverability.md): a
   * snapshot vanished without an authorised forget/prune job, or its keys or config id changed.
   * Null when not frozen; an admin's `POST /api/repositories/{id}/ledger/acknowledge` lifts it.
   */
  frozen_since: z.string().nullable().default(null),
  /** Why, in words ("frozen since …: 2 snapshots vanished without an authorised forget"); null when not frozen. */
  frozen_reason: z.string().nullable().default(null),
});
export type RepositoryView = z.infer<typeof RepositoryView>;

/** One snapshot of the ledger: every snapshot the repository ever reported (docs/recoverability.md). */
export const LedgerEntryView = z.object({
  snapshot_id: z.string(),
  short_id: z.string(),
  time: z.string(),
  hostname: z.string(),
  paths: z.array(z.string()),
  tree: z.string().nullable(),
  size_bytes: z.number().nullable(),
  first_seen_at: z.string(),
  last_seen_at: z.string(),
  /** When a newer listing of the repository no longer had it; null = still there. */
  gone_at: z.string().nullable(),
  /** The forget/prune job that authorised the removal; null with `gone_at` set = it vanished. */
  removed_by_job_id: z.string().nullable(),
  /** When an admin acknowledged the unauthorised disappearance. */
  acknowledged_at: z.string().nullable(),
});
export type LedgerEntryView = z.infer<typeof LedgerEntryView>;

/** `GET /api/repositories/{id}/ledger`: gone snapshots first, then by time (newest first); `gone=true` lists only gone ones, `gone=false` only present ones. */
export const LedgerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
  gone: z.enum(['true', 'false']).optional(),
}).strict();
export type LedgerQuery = z.infer<typeof LedgerQuery>;

/** `POST /api/repositories/{id}/ledger/acknowledge` answer. */
export const LedgerAcknowledgeResult = z.object({
  repository: RepositoryView,
  /** Vanished snapshots this acknowledgement covered. */
  acknowledged_snapshots: z.number().int(),
  /** Whether a keys/config change was part of it. */
  keys_change_acknowledged: z.boolean(),
});

/** Returned once by create: the generated password, when the server chose it. */
export const CreateRepositoryResponse = z.object({ repository: RepositoryView, generated_password: z.string().optional() });

/** `PUT /api/hosts/{id}/repositories/{repo_id}`: link a repository to a host. */
export const LinkRepositoryRequest = z.object({ primary: z.boolean().default(false) }).strict();

/** A host's repositories, with per-repository status for the host page. */
export const HostRepositoryView = z.object({
  repository: RepositoryView,
  primary: z.boolean(),
  last_backup_at: z.string().nullable(),
  last_copy_at: z.string().nullable(),
});
export type HostRepositoryView = z.infer<typeof HostRepositoryView>;

/** Why opening a repository failed, for the test-connection answer (specific, never a secret). */
export const RepoTestErrorKind = z.enum([
  'wrong_password', 'wrong_credentials', 'unknown_bucket', 'tls', 'host_key_mismatch', 'unreachable', 'not_initialised', 'no_agent', 'failed',
]);
export type RepoTestErrorKind = z.infer<typeof RepoTestErrorKind>;

/** `POST /api/repositories/{id}/test` answer. */
export const RepoTestResult = z.object({
  ok: z.boolean(),
  /** True when the location is reachable and empty: the caller may offer `init`. */
  empty: z.boolean().default(false),
  snapshot_count: z.number().int().nullable().default(null),
  error_kind: RepoTestErrorKind.nullable().default(null),
  error: z.string().max(4000).nullable().default(null),
  /** The host whose agent opened it. */
  host_id: z.string().nullable().default(null),
});
export type RepoTestResult = z.infer<typeof RepoTestResult>;

/**
 * Server -> agent: everything an agent needs to open one repository, sent with `config.update`
 * (repositories its schedules use, sealed at rest by the agent) or with one `command.run`
 * (used for that job only). Files the credentials need are written 0600 into the job's private
 * directory and removed when the job ends.
 */
export const RepositoryConfig = z
  .object({
    id: z.string().min(1).max(64),
    name: z.string().max(128),
    engine: RepositoryEngine,
    url: z.string().min(1).max(2048),
    password: z.string().min(1).max(1024),
    credentials: BackendCredentials,
    tls_ca_pem: z.string().max(65_536).optional(),
  })
  .strict();
export type RepositoryConfig = z.infer<typeof RepositoryConfig>;

/**
 * Server -> agent request (requests.ts rules): open `repository` and say whether it works.
 * The agent runs `cat config` (restic) / `repoinfo` (rustic) with the credentials for this
 * request only, then answers `repo.test.result` with the same id.
 */
export const RepoTest = z.object({
  type: z.literal('repo.test'),
  request_id: z.string().min(1).max(64),
  repository: RepositoryConfig,
});
export type RepoTest = z.infer<typeof RepoTest>;

export const RepoTestResultFrame = RepoTestResult.omit({ host_id: true }).extend({
  type: z.literal('repo.test.result'),
  request_id: z.string().min(1).max(64),
});
export type RepoTestResultFrame = z.infer<typeof RepoTestResultFrame>;

/** Arguments of a `copy` job: every snapshot of this host not yet in the target (restic copy). */
export const CopyArgs = z
  .object({
    /** The target repository's id (its config travels in command.run.copy_target). */
    target_repository_id: z.string().min(1).max(64),
    /** Copy only snapshots with these tags (none: all of this host's). */
    tags: z.array(z.string().min(1).max(64)).max(32).default([]),
    /**
     * Additive: first initialise the target with the source's chunker parameters (restic
     * `init --copy-chunker-params`, so deduplication survives), unless it exists already.
     */
    init_target: z.boolean().default(false),
    /**
     * Additive: how many of this host's snapshots the server knows in the source (for the
     * progress percentage; the agent then runs no counting `restic snapshots` beside the copy).
     */
    source_snapshots: z.number().int().min(0).max(10_000_000).optional(),
  })
  .merge(BandwidthOptions)
  .strict();
export type CopyArgs = z.infer<typeof CopyArgs>;
