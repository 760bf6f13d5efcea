import { Redactor } from '../redact.js';
import type { Invocation } from '../exec.js';
import type { Connection } from '../types.js';
import { baseEnv, connectionSecrets, withRestCredentials } from '../restic/connection.js';

/**
 * rustic's environment (its config spec maps every option to RUSTIC_*): RUSTIC_REPOSITORY,
 * RUSTIC_PASSWORD(_FILE|_COMMAND). rustic has no `s3:` backend of its own; an `s3:https://host/bucket/prefix`
 * repository is mapped to `opendal:s3` with its options in RUSTIC_REPO_OPT_* variables.
 * Not verified live here (rustic is not installable on this machine).
 */
export function rusticInvocation(conn: Partial<Connection>): Invocation {
  const env = baseEnv();
  const repo = conn.repository ?? '';
  const s3 = /^s3:(https?:\/\/[^/]+)\/([^/]+)\/?(.*)$/.exec(repo);
  if (s3) {
    env.RUSTIC_REPOSITORY = 'opendal:s3';
    env.RUSTIC_REPO_OPT_ENDPOINT = s3[1] ?? '';
    env.RUSTIC_REPO_OPT_BUCKET = s3[2] ?? '';
    env.RUSTIC_REPO_OPT_ROOT = `/${s3[3] ?? ''}`;
    if (conn.region) env.RUSTIC_REPO_OPT_REGION = conn.region;
    if (conn.accessKeyId) env.RUSTIC_REPO_OPT_ACCESS_KEY_ID = conn.accessKeyId;
    if (conn.secretAccessKey) env.RUSTIC_REPO_OPT_SECRET_ACCESS_KEY = conn.secretAccessKey;
  } else if (repo) env.RUSTIC_REPOSITORY = withRestCredentials(repo, conn.restUsername, conn.restPassword);
  if (conn.password !== undefined) env.RUSTIC_PASSWORD = conn.password;
  if (conn.passwordFile) env.RUSTIC_PASSWORD_FILE = conn.passwordFile;
  if (conn.passwordCommand) env.RUSTIC_PASSWORD_COMMAND = conn.passwordCommand;
  Object.assign(env, conn.env ?? {});
  const globalArgs = ['--no-progress'];
  if (conn.noCache) globalArgs.push('--no-cache');
  else if (conn.cacheDir) globalArgs.push('--cache-dir', conn.cacheDir);
  return {
    binary: conn.binary ?? 'rustic',
    env,
    globalArgs,
    redactor: new Redactor(connectionSecrets(conn)),
    ...(conn.timeoutMs ? { timeoutMs: conn.timeoutMs } : {}),
  };
}
