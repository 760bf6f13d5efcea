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

/** The decrypted secrets of a channel; which keys exist depends on the type (see SECRET_KEYS). */
export type ChannelSecrets = Partial<Record<'secret' | 'token' | 'password', string>>;

/** The secret config keys of each channel type (stored sealed, shown only as set / not set). */
export const SECRET_KEYS: Record<ChannelType, readonly ('secret' | 'token' | 'password')[]> = {
  webhook: ['secret'],
  ntfy: ['token'],
  email: ['password'],
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
