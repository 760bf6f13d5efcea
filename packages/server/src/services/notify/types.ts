import type { AlertKind, AlertSeverity, ChannelType } from '@restic-manager/protocol';
import type { TargetGuard } from './target-guard.js';

/** What every channel is sent: the webhook's JSON body, and the source of ntfy / e-mail texts. */
export interface AlertEvent {
  event: 'alert.raised' | 'alert.resolved' | 'test';
  alert: {
    id: string;
    kind: AlertKind | string;
    severity: AlertSeverity;
    message: string;
    host_id: string | null;
    host_name: string | null;
    created_at: string;
    acknowledged_at: string | null;
    resolved_at: string | null;
  };
  /** The server's public base URL; the alerts page is `<server_url>/alerts`. */
  server_url: string;
  sent_at: string;
}

/** A secret config key: stored sealed, never in an answer, log, audit row or error. */
export type SecretKey = 'secret' | 'token' | 'password' | 'webhook_url' | 'bot_token' | 'app_token' | 'user_key' | 'access_token';

/** The decrypted secrets of a channel; which keys exist depends on the type (see SECRET_KEYS). */
export type ChannelSecrets = Partial<Record<SecretKey, string>>;

/** The secret config keys of each channel type (stored sealed, shown only as set / not set). */
export const SECRET_KEYS: Record<ChannelType, readonly SecretKey[]> = {
  webhook: ['secret'],
  ntfy: ['token'],
  email: ['password'],
  slack: ['webhook_url'],
  discord: ['webhook_url'],
  telegram: ['bot_token'],
  gotify: ['app_token'],
  pushover: ['app_token', 'user_key'],
  matrix: ['access_token'],
};

/** The secrets a channel of the type cannot work without (a create must give them; an update must keep or replace them). */
export const REQUIRED_SECRETS: Record<ChannelType, readonly SecretKey[]> = {
  webhook: [], ntfy: [], email: [],
  slack: ['webhook_url'], discord: ['webhook_url'], telegram: ['bot_token'], gotify: ['app_token'], pushover: ['app_token', 'user_key'], matrix: ['access_token'],
};

/**
 * The plain config key that says where a channel's requests go (a webhook URL that is itself a
 * secret is its own destination). When it changes on an update, the stored secrets are NOT kept:
 * a credential is never sent to an address other than the one it was entered for.
 */
export const DESTINATION_KEY: Partial<Record<ChannelType, string>> = {
  webhook: 'url', ntfy: 'server', telegram: 'api_url', gotify: 'server', pushover: 'api_url', matrix: 'homeserver',
};

/**
 * One way of delivering an event. `send` resolves with a short human-readable detail on success
 * and rejects with a DeliveryError whose message is safe to show (it never contains a secret).
 */
export interface Transport {
  send(config: Record<string, unknown>, secrets: ChannelSecrets, event: AlertEvent, o: SendOptions): Promise<string>;
}

/** Per-attempt options: the timeout, the server's shutdown signal, and the SSRF guard HTTP transports check their URL with. */
export interface SendOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  guard: TargetGuard;
}

/** A failed delivery attempt with a user-facing reason (HTTP status, SMTP reply, network error). */
export class DeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Replaces every occurrence of a secret value (4+ characters) in `text` — the second net behind never putting them there. */
export function redact(text: string, secrets: ChannelSecrets): string {
  let out = text;
  for (const v of Object.values(secrets)) if (v && v.length >= 4) out = out.split(v).join('[redacted]');
  return out;
}

/** A readable reason for a network-level failure of fetch / a socket (ECONNREFUSED, timeouts, DNS). */
export function networkReason(e: unknown, target: string): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer from ${target} in time (timed out)`;
  const cause = err.cause?.message ?? err.cause?.code;
  return `cannot reach ${target}: ${cause ?? err.message ?? String(e)}`;
}
