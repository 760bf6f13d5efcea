import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { DomainError, TooManyAttemptsError } from '../services/errors.js';
import type { DomainErrorCode } from '../services/errors.js';

/** The one place domain error codes become HTTP statuses. */
export const STATUS: Record<DomainErrorCode, ContentfulStatusCode> = {
  not_found: 404,
  validation_failed: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  token_invalid: 401,
  forbidden: 403,
  csrf_failed: 403,
  totp_required: 403,
  conflict: 409,
  invalid_state: 409,
  token_expired: 410,
  token_used: 410,
  too_many_attempts: 429,
  rate_limited: 429,
  delivery_failed: 502,
  agent_unavailable: 503,
  too_large: 413,
};

export function errorResponse(c: Context, code: string, message: string, status: ContentfulStatusCode, fields?: Record<string, string>) {
  return c.json({ error: { code, message, ...(fields ? { fields } : {}) } }, status);
}

/** Maps a thrown value to `{ error: { code, message } }`. Unknown errors become a bland 500. */
export function handleError(err: unknown, c: Context, log: (e: unknown) => void) {
  if (err instanceof TooManyAttemptsError) c.header('Retry-After', String(err.retryAfterS));
  if (err instanceof DomainError) return errorResponse(c, err.code, err.message, STATUS[err.code], err.fields);
  log(err);
  return errorResponse(c, 'internal', 'internal server error', 500);
}

/** Converts zod issues into a validation DomainError naming fields (never echoing values). */
export function validationError(where: string, error: z.ZodError): DomainError {
  const fields: Record<string, string> = {};
  for (const i of error.issues) fields[i.path.length ? i.path.join('.') : where] ??= i.message;
  const first = Object.entries(fields)[0];
  return new DomainError('validation_failed', first ? `${where}: ${first[0]}: ${first[1]}` : `${where} is invalid`, fields);
}
