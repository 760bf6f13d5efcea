import { DomainError } from './errors.js';

/** Why an OIDC sign-in failed. The login page turns each into a fixed, user-facing sentence. */
export type OidcFailure =
  | 'unavailable'
  | 'state_mismatch'
  | 'expired'
  | 'denied'
  | 'provider_error'
  | 'no_role'
  | 'disabled'
  | 'not_configured';

export const OIDC_MESSAGES: Record<OidcFailure, string> = {
  unavailable: 'The sign-in provider is unreachable. Try again later, or ask an administrator.',
  state_mismatch: 'The sign-in response did not match this browser’s sign-in attempt. Start again.',
  expired: 'The sign-in attempt expired or was already used. Start again.',
  denied: 'Sign-in was cancelled or denied at the provider.',
  provider_error: 'The sign-in provider returned an error. Start again, or ask an administrator.',
  no_role: 'Your account is not in a group that has access to restic-manager. Ask an administrator to add you to one.',
  disabled: 'This account is disabled.',
  not_configured: 'Single sign-on is not configured on this server.',
};

/** A failed OIDC sign-in; `message` is safe to show and never carries provider text or tokens. */
export class OidcError extends DomainError {
  constructor(readonly reason: OidcFailure) {
    super(reason === 'disabled' || reason === 'no_role' ? 'forbidden' : reason === 'not_configured' ? 'not_found' : 'unauthorized', OIDC_MESSAGES[reason]);
  }
}

export const isOidcFailure = (v: unknown): v is OidcFailure => typeof v === 'string' && Object.hasOwn(OIDC_MESSAGES, v);
