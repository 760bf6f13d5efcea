import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API_TOKEN_PATTERN } from '@restic-manager/protocol';
import { CTL_EXIT, CtlError } from './exit.js';

/** Where a ctl command finds the server and its token. */
export interface CtlConfig {
  server: string;
  token: string;
}

/** The default config file: $XDG_CONFIG_HOME/restic-manager/ctl.json (~/.config/… without it). */
export function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'restic-manager', 'ctl.json');
}

const MAX_CONFIG_BYTES = 64 * 1024;

/**
 * Resolves the server URL and token: `--server` / `RM_SERVER` / the file's `server`, and
 * `RM_TOKEN` / the file's `token`. The file (`--config`, `RM_CTL_CONFIG`, or the default path)
 * is read only when something is still missing; it must not be readable by group or others
 * (the token would be), and is refused with a message saying how to fix it. Throws CtlError
 * (exit 3) when no token is found, (exit 2) for a malformed URL or file.
 */
export function loadCtlConfig(opts: { server?: string | undefined; config?: string | undefined }, env: NodeJS.ProcessEnv): CtlConfig {
  let server = opts.server ?? env.RM_SERVER;
  let token = env.RM_TOKEN;
  const file = opts.config ?? env.RM_CTL_CONFIG ?? defaultConfigPath(env);
  if ((!server || !token) && (opts.config || env.RM_CTL_CONFIG || existsSync(file))) {
    const fromFile = readConfigFile(file);
    server ??= fromFile.server;
    token ??= fromFile.token;
  }
  if (!token) throw new CtlError(`no API token: set RM_TOKEN, or put {"server": "...", "token": "rmt_..."} in ${file} (mode 0600). Create a token under Settings → API tokens.`, CTL_EXIT.auth);
  if (!API_TOKEN_PATTERN.test(token)) throw new CtlError('the API token does not look like one (expected rmt_ and 43 characters)', CTL_EXIT.auth);
  if (!server) throw new CtlError(`no server: pass --server https://backup.example, set RM_SERVER, or add "server" to ${file}`, CTL_EXIT.usage);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CtlError(`server: not a URL: ${server}`, CTL_EXIT.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CtlError(`server: must be an http:// or https:// URL, not ${url.protocol}`, CTL_EXIT.usage);
  if (url.username || url.password) throw new CtlError('server: put no credentials in the URL (the token goes in RM_TOKEN or the config file)', CTL_EXIT.usage);
  return { server: url.origin + url.pathname.replace(/\/+$/, ''), token };
}

function readConfigFile(file: string): Partial<CtlConfig> {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new CtlError(`config file ${file} does not exist`, CTL_EXIT.usage);
  }
  if (!st.isFile()) throw new CtlError(`config file ${file} is not a regular file`, CTL_EXIT.usage);
  const mode = st.mode & 0o777;
  if (mode & 0o077) throw new CtlError(`config file ${file} has mode ${mode.toString(8).padStart(4, '0')}: it holds a token, so it must not be readable by group or others; run chmod 600 ${file}`, CTL_EXIT.auth);
  if (st.size > MAX_CONFIG_BYTES) throw new CtlError(`config file ${file} is larger than ${MAX_CONFIG_BYTES} bytes`, CTL_EXIT.usage);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new CtlError(`config file ${file} is not valid JSON`, CTL_EXIT.usage);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new CtlError(`config file ${file} must hold a JSON object {"server", "token"}`, CTL_EXIT.usage);
  const o = data as Record<string, unknown>;
  for (const k of ['server', 'token'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw new CtlError(`config file ${file}: "${k}" must be a string`, CTL_EXIT.usage);
  }
  return { server: o.server as string | undefined, token: o.token as string | undefined };
}
