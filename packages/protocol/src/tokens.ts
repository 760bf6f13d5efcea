import { z } from 'zod';
import { Role } from './common.js';
import { TagList } from './rest.js';

/*
 * API tokens (issue 21, docs/server.md "API tokens"): a user's (or a service account's) bearer
 * credential for the REST API. The secret is shown once, in CreateApiTokenResponse.token; every
 * other shape holds only its display prefix.
 */

/** Every token starts with this, so secret scanners and log filters can recognise one. */
export const API_TOKEN_PREFIX = 'rmt_';
/** `rmt_` + 43 base64url characters (32 random bytes). */
export const API_TOKEN_PATTERN = /^rmt_[A-Za-z0-9_-]{43}$/;

export const ApiTokenView = z.object({
  id: z.string(),
  /** The account the token acts as. */
  user_id: z.string(),
  username: z.string(),
  name: z.string(),
  /** `rmt_` and the first 6 characters of the secret, to recognise it in a list. */
  prefix: z.string(),
  /** The most the token may do; at each use it is also capped by the account's current role. */
  role: Role,
  /** Null = every host; else only hosts carrying at least one of these tags (docs/server.md "Scope"). */
  scope_tags: z.array(z.string()).nullable(),
  created_at: z.string(),
  /** Who created it (the account itself, or an admin for a service account). */
  created_by: z.string().nullable(),
  expires_at: z.string(),
  last_used_at: z.string().nullable(),
  last_used_ip: z.string().nullable(),
  revoked_at: z.string().nullable(),
  /** active | expired | revoked, at the time of the answer. */
  state: z.enum(['active', 'expired', 'revoked']),
});
export type ApiTokenView = z.infer<typeof ApiTokenView>;

export const MAX_TOKEN_DAYS = 3650;

export const CreateApiTokenRequest = z
  .object({
    name: z.string().trim().min(1, 'give the token a name').max(64),
    /** Default: the creator's role (or the service account's). Higher than that is refused. */
    role: Role.optional(),
    /** Absent or null: every host. */
    scope_tags: TagList.min(1, 'list at least one tag, or leave the scope out').nullable().optional(),
    /** Days until the token expires, 1..3650 (default 90). */
    expires_in_days: z.number().int().min(1).max(MAX_TOKEN_DAYS).default(90),
  })
  .strict();
export type CreateApiTokenRequest = z.infer<typeof CreateApiTokenRequest>;

export const CreateApiTokenResponse = z.object({
  /** The secret, shown this once; the server keeps only a keyed hash of it. */
  token: z.string(),
  api_token: ApiTokenView,
});
export type CreateApiTokenResponse = z.infer<typeof CreateApiTokenResponse>;

/** A service account: a user that cannot sign in and acts only through the tokens an admin gives it. */
export const CreateServiceAccountRequest = z
  .object({
    username: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.@-]+$/, 'letters, digits and _ . @ -'),
    role: Role,
  })
  .strict();
export type CreateServiceAccountRequest = z.infer<typeof CreateServiceAccountRequest>;
