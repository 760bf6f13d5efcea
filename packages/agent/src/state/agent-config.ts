import { randomBytes } from 'node:crypto';
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
  /** Hosts trusted for vault drills: the age identity file (mode 0600, owned by the agent's user); RM_VAULT_IDENTITY_FILE wins. */
  vault_identity_file?: string;
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
  const o = parseFlatYaml(raw.toString('utf8'), file);
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
  if (typeof o.vault_identity_file === 'string' && o.vault_identity_file !== '') cfg.vault_identity_file = o.vault_identity_file;
  return cfg;
}

/**
 * agent.yaml is a flat mapping of strings, so it is read and written here without a YAML
 * library (saves ~4 MB of idle RSS). Values are written as JSON strings, which are valid YAML
 * double-quoted scalars; on reading, plain and single-quoted scalars are accepted too, so a
 * hand-edited file works. Anything nested is reported as corrupt.
 */
function parseFlatYaml(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = /^([A-Za-z0-9_]+):\s*(.*?)\s*$/.exec(line);
    if (!m) throw new StateError('state_corrupt', `${file} is corrupt (not valid YAML for the agent: line ${i + 1}); re-enroll with 'restic-manager-agent enroll'`);
    const [, key, rawValue] = m as unknown as [string, string, string];
    let value = rawValue;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        throw new StateError('state_corrupt', `${file} is corrupt (not valid YAML for the agent: line ${i + 1}); re-enroll with 'restic-manager-agent enroll'`);
      }
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1).replace(/''/g, "'");
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[key] = value;
  }
  return out;
}

export function writeAgentConfig(file: string, cfg: AgentConfig): void {
  const lines = ['# restic-manager agent state. Mode 0600: holds the agent bearer and the secrets key.'];
  for (const [k, v] of Object.entries(cfg)) if (typeof v === 'string') lines.push(`${k}: ${JSON.stringify(v)}`);
  writeFileAtomic(file, lines.join('\n') + '\n');
}
