import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { readIfExists, writeFileAtomic } from './atomic.js';
import { StateError } from './errors.js';

/** Contents of agent.yaml (spec §4.2 Persistence). Mode 0600; holds the bearer and the secrets key. */
export interface AgentConfig {
  server_url: string;
  host_id: string;
  bearer: string;
  /** base64 of 32 random bytes: the AEAD key of secrets.enc. */
  secrets_key: string;
  /** Agent WebSocket URL as announced at enrollment (default: server_url + /api/agents/ws). */
  ws_url?: string;
  /** SHA-256 of the server's TLS leaf certificate (hex, colons optional); pins the connection. */
  cert_pin_sha256?: string;
}

export function newSecretsKey(): string {
  return randomBytes(32).toString('base64');
}

function str(o: Record<string, unknown>, key: string, file: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) {
    throw new StateError('state_corrupt', `${file} is corrupt: field '${key}' is missing or not a string; re-enroll with 'restic-manager-agent enroll'`);
  }
  return v;
}

/** Reads agent.yaml. Throws StateError when it is missing (not enrolled) or corrupt. */
export function readAgentConfig(file: string): AgentConfig {
  const raw = readIfExists(file);
  if (raw === null) {
    throw new StateError('state_missing', `${file} not found: this agent is not enrolled yet; run 'restic-manager-agent enroll --server URL --token TOKEN'`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(raw.toString('utf8'));
  } catch {
    throw new StateError('state_corrupt', `${file} is corrupt (not valid YAML); re-enroll with 'restic-manager-agent enroll'`);
  }
  if (typeof doc !== 'object' || doc === null) {
    throw new StateError('state_corrupt', `${file} is corrupt (expected a mapping); re-enroll with 'restic-manager-agent enroll'`);
  }
  const o = doc as Record<string, unknown>;
  const key = str(o, 'secrets_key', file);
  if (Buffer.from(key, 'base64').length !== 32) {
    throw new StateError('state_corrupt', `${file} is corrupt: 'secrets_key' is not 32 bytes of base64`);
  }
  const cfg: AgentConfig = {
    server_url: str(o, 'server_url', file),
    host_id: str(o, 'host_id', file),
    bearer: str(o, 'bearer', file),
    secrets_key: key,
  };
  if (typeof o.ws_url === 'string' && o.ws_url !== '') cfg.ws_url = o.ws_url;
  if (typeof o.cert_pin_sha256 === 'string' && o.cert_pin_sha256 !== '') cfg.cert_pin_sha256 = o.cert_pin_sha256;
  return cfg;
}

export function writeAgentConfig(file: string, cfg: AgentConfig): void {
  const header = '# restic-manager agent state. Mode 0600: holds the agent bearer and the secrets key.\n';
  writeFileAtomic(file, header + YAML.stringify(cfg));
}
