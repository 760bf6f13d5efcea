import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import type { AgentConfig } from './state/agent-config.js';
import { newSecretsKey, writeAgentConfig } from './state/agent-config.js';
import { statePaths } from './state/paths.js';
import { normalizePin, pinnedTlsConnect } from './net/pin.js';
import { agentVersion, resticVersion } from './version.js';

export interface EnrollOptions {
  serverUrl: string;
  token: string;
  certPin?: string;
  stateDir: string;
  /** Enrollment endpoint path (default `/api/agents/enroll`, spec §6.3). */
  path?: string;
  timeoutMs?: number;
}

export class EnrollError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'EnrollError';
  }
}

function post(url: URL, body: string, pin: string | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: timeoutMs,
      ...(pin && url.protocol === 'https:' ? { createConnection: pinnedTlsConnect(pin) as never } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Enrolls this host (spec §6.3): POST /api/agents/enroll with the one-time token and host
 * metadata; the server answers `{ host_id, bearer_token, ws_url }`. Writes agent.yaml (0600, atomically) with
 * a fresh secrets key. Throws EnrollError with the server's message on failure; never logs the token.
 */
export async function enroll(opts: EnrollOptions): Promise<AgentConfig> {
  let url: URL;
  try {
    url = new URL(opts.serverUrl.replace(/\/+$/, '') + (opts.path ?? '/api/agents/enroll'));
  } catch {
    throw new EnrollError(`invalid server URL '${opts.serverUrl}': expected http(s)://host[:port]`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new EnrollError(`invalid server URL '${opts.serverUrl}': expected http:// or https://`);
  if (opts.certPin && !normalizePin(opts.certPin)) throw new EnrollError(`invalid --cert-pin: expected the SHA-256 of the server certificate (64 hex characters)`);
  const body = JSON.stringify({
    token: opts.token,
    hostname: os.hostname(),
    os: `${os.platform()} ${os.release()}`.slice(0, 64),
    arch: os.arch(),
    agent_version: agentVersion(),
    restic_version: await resticVersion(),
  });
  let res: { status: number; body: string };
  try {
    res = await post(url, body, opts.certPin, opts.timeoutMs ?? 30_000);
  } catch (err) {
    throw new EnrollError(`cannot reach ${url.origin}: ${(err as Error).message}`);
  }
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    // handled below
  }
  if (res.status < 200 || res.status >= 300) {
    const e = json.error as { code?: string; message?: string } | undefined;
    throw new EnrollError(`enrollment refused (HTTP ${res.status}${e?.code ? ` ${e.code}` : ''}): ${e?.message ?? (res.body.slice(0, 200) || 'no details')}`, res.status);
  }
  const hostId = json.host_id;
  const bearer = json.bearer_token ?? json.bearer;
  if (typeof hostId !== 'string' || typeof bearer !== 'string') throw new EnrollError('the server answered without host_id and bearer_token; is this a restic-manager server?');
  const pin = opts.certPin ?? (typeof json.cert_pin_sha256 === 'string' ? json.cert_pin_sha256 : undefined);
  const wsUrl = typeof json.ws_url === 'string' && /^wss?:\/\//.test(json.ws_url) ? json.ws_url : undefined;
  const cfg: AgentConfig = { server_url: opts.serverUrl.replace(/\/+$/, ''), host_id: hostId, bearer, secrets_key: newSecretsKey(), ...(wsUrl ? { ws_url: wsUrl } : {}), ...(pin ? { cert_pin_sha256: pin } : {}) };
  writeAgentConfig(statePaths(opts.stateDir).config, cfg);
  return cfg;
}
