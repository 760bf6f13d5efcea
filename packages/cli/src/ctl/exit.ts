/**
 * Exit codes of `restic-manager ctl` (docs/cli.md "Exit status"). 0–2 are shared with every
 * command (command.ts EXIT); the rest say why a request was refused or how a followed job ended.
 */
export const CTL_EXIT = {
  ok: 0,
  /** Anything else: a network error, a 5xx, a 4xx without its own code below. */
  failed: 1,
  /** Wrong flags or arguments. */
  usage: 2,
  /** No token, a config file others can read, or 401 (unknown, expired or revoked token). */
  auth: 3,
  /** 403: below the token's role, outside its host-tag scope, or a session-only route. */
  forbidden: 4,
  /** 404: no such host or job. */
  notFound: 5,
  /** 503: the host's agent is offline or did not answer. */
  unavailable: 6,
  /** A followed job (`run --wait`, `logs -f`) ended failed. */
  jobFailed: 10,
  /** A followed job ended cancelled. */
  jobCancelled: 11,
} as const;

/** A failure a ctl command reports as one line on stderr and this exit code. */
export class CtlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CtlError';
  }
}

/** The exit code of an HTTP error status. */
export function exitOfStatus(status: number): number {
  if (status === 401) return CTL_EXIT.auth;
  if (status === 403) return CTL_EXIT.forbidden;
  if (status === 404) return CTL_EXIT.notFound;
  if (status === 503) return CTL_EXIT.unavailable;
  return CTL_EXIT.failed;
}
