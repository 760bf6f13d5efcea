import { readFileSync } from 'node:fs';
import type { Role } from '@restic-manager/protocol';

/** OIDC sign-in settings (spec §7.1); null in ServerConfig when RM_OIDC_ISSUER is unset. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  /** Never logged, never in an API response or an error message. */
  clientSecret: string;
  scopes: string;
  /** `<RM_BASE_URL>/auth/oidc/callback`, registered at the provider. */
  redirectUri: string;
  /** Label of the login button ("Sign in with <name>"). */
  name: string;
  roleClaim: string;
  groups: Record<Role, string[]>;
  /** Role of a user in none of the groups; null = such users are refused. */
  defaultRole: Role | null;
  /** Plain-http issuers are accepted on loopback only (tests, a provider on the same host). */
  allowInsecure: boolean;
}

/** Raw OIDC settings, named after their RM_OIDC_* variables. */
export interface OidcInput {
  oidcIssuer?: string | null;
  oidcClientId?: string | null;
  oidcClientSecret?: string | null;
  oidcClientSecretFile?: string | null;
  oidcScopes?: string | null;
  oidcName?: string | null;
  oidcRoleClaim?: string | null;
  oidcAdminGroups?: string | null;
  oidcOperatorGroups?: string | null;
  oidcViewerGroups?: string | null;
  oidcDefaultRole?: string | null;
  oidcAllowPasswordLogin?: string | boolean | null;
}

export const OIDC_ENV: Record<keyof OidcInput, string> = {
  oidcIssuer: 'RM_OIDC_ISSUER',
  oidcClientId: 'RM_OIDC_CLIENT_ID',
  oidcClientSecret: 'RM_OIDC_CLIENT_SECRET',
  oidcClientSecretFile: 'RM_OIDC_CLIENT_SECRET_FILE',
  oidcScopes: 'RM_OIDC_SCOPES',
  oidcName: 'RM_OIDC_NAME',
  oidcRoleClaim: 'RM_OIDC_ROLE_CLAIM',
  oidcAdminGroups: 'RM_OIDC_ADMIN_GROUPS',
  oidcOperatorGroups: 'RM_OIDC_OPERATOR_GROUPS',
  oidcViewerGroups: 'RM_OIDC_VIEWER_GROUPS',
  oidcDefaultRole: 'RM_OIDC_DEFAULT_ROLE',
  oidcAllowPasswordLogin: 'RM_OIDC_ALLOW_PASSWORD_LOGIN',
};

/** YAML keys (the client secret itself is environment-only, like the admin password). */
export const OIDC_YAML_KEYS: Record<string, keyof OidcInput> = {
  oidc_issuer: 'oidcIssuer',
  oidc_client_id: 'oidcClientId',
  oidc_client_secret_file: 'oidcClientSecretFile',
  oidc_scopes: 'oidcScopes',
  oidc_name: 'oidcName',
  oidc_role_claim: 'oidcRoleClaim',
  oidc_admin_groups: 'oidcAdminGroups',
  oidc_operator_groups: 'oidcOperatorGroups',
  oidc_viewer_groups: 'oidcViewerGroups',
  oidc_default_role: 'oidcDefaultRole',
  oidc_allow_password_login: 'oidcAllowPasswordLogin',
};

type Fail = (variable: string, problem: string) => Error;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

/**
 * Validates the OIDC block. Returns null when RM_OIDC_ISSUER is unset (and refuses other
 * RM_OIDC_* settings without it, so a typo does not silently disable SSO).
 */
export function resolveOidc(input: OidcInput, baseUrl: string | null, fail: Fail): OidcConfig | null {
  if (!input.oidcIssuer) {
    const stray = (Object.keys(OIDC_ENV) as (keyof OidcInput)[]).find((k) => k !== 'oidcAllowPasswordLogin' && input[k]);
    if (stray) throw fail(OIDC_ENV[stray], 'set RM_OIDC_ISSUER too (OIDC is off without an issuer)');
    return null;
  }
  const issuerUrl = parseIssuer(input.oidcIssuer, fail);
  if (!input.oidcClientId) throw fail('RM_OIDC_CLIENT_ID', 'required when RM_OIDC_ISSUER is set');
  const clientSecret = readSecret(input, fail);
  if (!baseUrl) throw fail('RM_BASE_URL', 'required when RM_OIDC_ISSUER is set (the redirect URI is <RM_BASE_URL>/auth/oidc/callback)');
  const scopes = (input.oidcScopes ?? 'openid profile email').split(/[\s,]+/).filter(Boolean);
  if (!scopes.includes('openid')) throw fail('RM_OIDC_SCOPES', `must include 'openid', got '${scopes.join(' ')}'`);
  const groups: Record<Role, string[]> = {
    admin: list(input.oidcAdminGroups),
    operator: list(input.oidcOperatorGroups),
    viewer: list(input.oidcViewerGroups),
  };
  const defaultRole = input.oidcDefaultRole ?? null;
  if (defaultRole !== null && !ROLES.includes(defaultRole as Role)) throw fail('RM_OIDC_DEFAULT_ROLE', `expected admin, operator or viewer, got '${defaultRole}'`);
  if (!defaultRole && !groups.admin.length && !groups.operator.length && !groups.viewer.length) {
    throw fail('RM_OIDC_ADMIN_GROUPS', 'no role mapping: set RM_OIDC_ADMIN_GROUPS, RM_OIDC_OPERATOR_GROUPS, RM_OIDC_VIEWER_GROUPS or RM_OIDC_DEFAULT_ROLE');
  }
  const roleClaim = input.oidcRoleClaim ?? 'groups';
  if (!/^[A-Za-z0-9_.:/-]{1,128}$/.test(roleClaim)) throw fail('RM_OIDC_ROLE_CLAIM', `not a claim name: '${roleClaim}'`);
  return {
    // Kept verbatim: discovery compares the document's `issuer` with it byte for byte.
    issuer: input.oidcIssuer,
    clientId: input.oidcClientId,
    clientSecret,
    scopes: scopes.join(' '),
    redirectUri: `${baseUrl}/auth/oidc/callback`,
    name: (input.oidcName ?? 'SSO').slice(0, 64),
    roleClaim,
    groups,
    defaultRole: defaultRole as Role | null,
    allowInsecure: issuerUrl.protocol === 'http:',
  };
}

function parseIssuer(v: string, fail: Fail): URL {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw fail('RM_OIDC_ISSUER', `not a URL: '${v}'`);
  }
  if (u.username || u.password || u.search || u.hash) throw fail('RM_OIDC_ISSUER', 'must be a plain https:// URL without credentials, query or fragment');
  if (u.protocol === 'http:' && !LOOPBACK.has(u.hostname)) throw fail('RM_OIDC_ISSUER', 'must use https:// (plain http is accepted for loopback addresses only)');
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw fail('RM_OIDC_ISSUER', 'must start with https://');
  return u;
}

function readSecret(input: OidcInput, fail: Fail): string {
  if (input.oidcClientSecret && input.oidcClientSecretFile) throw fail('RM_OIDC_CLIENT_SECRET_FILE', 'set either RM_OIDC_CLIENT_SECRET or RM_OIDC_CLIENT_SECRET_FILE, not both');
  if (input.oidcClientSecret) return input.oidcClientSecret;
  if (!input.oidcClientSecretFile) throw fail('RM_OIDC_CLIENT_SECRET', 'required when RM_OIDC_ISSUER is set (or RM_OIDC_CLIENT_SECRET_FILE)');
  let s: string;
  try {
    s = readFileSync(input.oidcClientSecretFile, 'utf8').trim();
  } catch (e) {
    throw fail('RM_OIDC_CLIENT_SECRET_FILE', `cannot read ${input.oidcClientSecretFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!s) throw fail('RM_OIDC_CLIENT_SECRET_FILE', `${input.oidcClientSecretFile} is empty`);
  return s;
}

const list = (v: string | null | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
