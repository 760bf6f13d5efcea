import { Redactor } from '../redact.js';
import type { Invocation } from '../exec.js';
import type { Connection } from '../types.js';

/** Variables never inherited from the parent: the child gets exactly the credentials of its Connection. */
const SCRUB = /^(RESTIC_|RUSTIC_|AWS_|B2_|AZURE_|GOOGLE_|OS_|ST_|RCLONE_)/;

export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUB.test(k)) env[k] = v;
  return env;
}

/** Secrets of a connection, for redaction. */
export function connectionSecrets(conn: Partial<Connection>): (string | undefined)[] {
  return [conn.password, conn.restPassword, conn.secretAccessKey, conn.sessionToken, conn.accessKeyId, ...(conn.secrets ?? [])];
}

/**
 * Merges REST credentials into a `rest:` URL. The result lives only in the child's environment;
 * callers must never store or log it (use redactUrl on anything else).
 */
export function withRestCredentials(repository: string, user?: string, pass?: string): string {
  if (!repository.startsWith('rest:') || (!user && !pass)) return repository;
  const url = new URL(repository.slice('rest:'.length));
  if (user) url.username = user;
  if (pass) url.password = pass;
  return `rest:${url.toString()}`;
}

/** The environment-only contract: repository, password and cloud keys go to env, never argv. */
export function resticInvocation(conn: Partial<Connection>): Invocation {
  const env = baseEnv();
  if (conn.repository) env.RESTIC_REPOSITORY = withRestCredentials(conn.repository, conn.restUsername, conn.restPassword);
  if (conn.password !== undefined) env.RESTIC_PASSWORD = conn.password;
  if (conn.passwordFile) env.RESTIC_PASSWORD_FILE = conn.passwordFile;
  if (conn.passwordCommand) env.RESTIC_PASSWORD_COMMAND = conn.passwordCommand;
  if (conn.accessKeyId) env.AWS_ACCESS_KEY_ID = conn.accessKeyId;
  if (conn.secretAccessKey) env.AWS_SECRET_ACCESS_KEY = conn.secretAccessKey;
  if (conn.sessionToken) env.AWS_SESSION_TOKEN = conn.sessionToken;
  if (conn.region) env.AWS_DEFAULT_REGION = conn.region;
  Object.assign(env, conn.env ?? {});
  const globalArgs: string[] = [];
  if (conn.noCache) globalArgs.push('--no-cache');
  else if (conn.cacheDir) globalArgs.push('--cache-dir', conn.cacheDir);
  if (conn.cacert) globalArgs.push('--cacert', conn.cacert);
  for (const o of conn.options ?? []) globalArgs.push('-o', o);
  if (conn.limitUploadKiBs) globalArgs.push('--limit-upload', String(Math.round(conn.limitUploadKiBs)));
  if (conn.limitDownloadKiBs) globalArgs.push('--limit-download', String(Math.round(conn.limitDownloadKiBs)));
  return {
    binary: conn.binary ?? 'restic',
    env,
    globalArgs,
    redactor: new Redactor(connectionSecrets(conn)),
    ...(conn.timeoutMs ? { timeoutMs: conn.timeoutMs } : {}),
    ...(conn.helperLogs?.length ? { helperLogs: conn.helperLogs } : {}),
  };
}

/** A connection must say how to get the repository password before anything runs. */
export function missingPassword(conn: Connection): boolean {
  return conn.password === undefined && !conn.passwordFile && !conn.passwordCommand;
}
