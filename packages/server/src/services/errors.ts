/**
 * Domain errors raised by services. They carry a stable machine `code` and a message that is
 * safe to show (never a secret). The HTTP edge maps codes to statuses in http/errors.ts.
 */
export type DomainErrorCode =
  | 'not_found'
  | 'validation_failed'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'forbidden'
  | 'csrf_failed'
  /** The session's role must sign in with a second factor that is not set up yet. */
  | 'totp_required'
  | 'conflict'
  | 'invalid_state'
  | 'token_invalid'
  | 'token_expired'
  | 'token_used'
  | 'too_many_attempts'
  /** An agent exceeded a bound on what it may create (docs/protocol.md "Agent-created jobs"). */
  | 'rate_limited'
  /** A notification channel could not deliver (the message says why: SMTP reply, HTTP status, network). */
  | 'delivery_failed'
  /** The host's agent is offline or did not answer a request in time. */
  | 'agent_unavailable'
  /** Over a configured size limit (a download over RM_DOWNLOAD_MAX_BYTES). */
  | 'too_large';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string, id: string): DomainError => new DomainError('not_found', `${what} ${id} not found`);

/** `too_many_attempts` with the wait the edge sends as `Retry-After` (whole seconds, at least 1). */
export class TooManyAttemptsError extends DomainError {
  readonly retryAfterS: number;
  constructor(retryAfterMs: number) {
    const s = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super('too_many_attempts', `too many failed logins; retry in ${s} s`);
    this.retryAfterS = s;
  }
}
