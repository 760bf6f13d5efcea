import { Redactor } from '../redact.js';
import type { Invocation } from '../exec.js';
import type { Connection } from '../types.js';
import { baseEnv, connectionSecrets, withRestCredentials } from '../restic/connection.js';
import { refineRusticError } from './errors.js';

/**
 * A profile path that can never exist (`/dev/null` is not a directory): rustic then reads no
 * `rustic.toml` from ~/.config/rustic, /etc/rustic or the working directory, so a host's profile
 * cannot add options (a `[forget] keep-*` would widen every retention policy). rustic logs one
 * `[WARN] using no config file` line for it. A connection's own `env.RUSTIC_USE_PROFILE` wins.
 */
export const NO_PROFILE = '/dev/null/restic-manager-uses-no-rustic-profile';

/**
 * rustic's environment (checked against rustic-rs 0.11.4's `--help`): RUSTIC_REPOSITORY,
 * RUSTIC_PASSWORD(_FILE|_COMMAND). rustic has no `s3:` backend of its own; an
 * `s3:https://host/bucket/prefix` repository is mapped to `opendal:s3` with its options in
 * RUSTIC_REPO_OPT_* variables (not run here: the protocol offers rustic on local/rest/rclone only).
 * NO_COLOR and RUST_BACKTRACE=0 keep its error report plain text without a backtrace.
 */
export function rusticInvocation(conn: Partial<Connection>): Invocation {
  const env = baseEnv();
  env.NO_COLOR = '1';
  env.RUST_BACKTRACE = '0';
  env.RUSTIC_USE_PROFILE = NO_PROFILE;
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
    refineError: refineRusticError,
    ...(conn.timeoutMs ? { timeoutMs: conn.timeoutMs } : {}),
  };
}

/**
 * The same invocation printing progress as JSON lines on stdout (`--json-progress`, which rustic
 * refuses together with `--no-progress`), about two status lines per progress event.
 */
export function withJsonProgress(inv: Invocation, intervalMs: number): Invocation {
  const every = Math.max(50, Math.round(intervalMs / 2));
  return { ...inv, globalArgs: ['--json-progress', '--progress-interval', `${every}ms`, ...inv.globalArgs.filter((a) => a !== '--no-progress')] };
}
