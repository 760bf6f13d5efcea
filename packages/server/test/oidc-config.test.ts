import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFromEnv } from '@restic-manager/server';

const base = { RM_DATA_DIR: '/tmp/rm-data', RM_BASE_URL: 'https://backup.example.org' };
const sso = { ...base, RM_OIDC_ISSUER: 'https://auth.example.org', RM_OIDC_CLIENT_ID: 'restic-manager', RM_OIDC_CLIENT_SECRET: 's3cret-value-xyz', RM_OIDC_ADMIN_GROUPS: 'admins' };

const problem = (env: Record<string, string>): string => {
  try {
    loadConfigFromEnv(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  return 'no error';
};

describe('OIDC configuration', () => {
  it('is off without RM_OIDC_ISSUER and fills defaults when on', () => {
    expect(loadConfigFromEnv(base)).toMatchObject({ oidc: null, passwordLogin: true });
    expect(loadConfigFromEnv(sso).oidc).toEqual({
      issuer: 'https://auth.example.org', clientId: 'restic-manager', clientSecret: 's3cret-value-xyz', scopes: 'openid profile email',
      redirectUri: 'https://backup.example.org/auth/oidc/callback', name: 'SSO', roleClaim: 'groups',
      groups: { admin: ['admins'], operator: [], viewer: [] }, defaultRole: null, allowInsecure: false,
    });
  });

  it('parses group lists, the default role, the claim and password sign-in', () => {
    const c = loadConfigFromEnv({ ...sso, RM_OIDC_OPERATOR_GROUPS: ' ops , oncall', RM_OIDC_DEFAULT_ROLE: 'viewer', RM_OIDC_ROLE_CLAIM: 'roles', RM_OIDC_ALLOW_PASSWORD_LOGIN: 'false', RM_OIDC_NAME: 'Keycloak' });
    expect(c.oidc).toMatchObject({ groups: { operator: ['ops', 'oncall'] }, defaultRole: 'viewer', roleClaim: 'roles', name: 'Keycloak' });
    expect(c.passwordLogin).toBe(false);
  });

  it('reads the client secret from RM_OIDC_CLIENT_SECRET_FILE', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'rm-oidc-')), 'secret');
    writeFileSync(file, 'from-a-file\n');
    const { RM_OIDC_CLIENT_SECRET: _s, ...noSecret } = sso;
    expect(loadConfigFromEnv({ ...noSecret, RM_OIDC_CLIENT_SECRET_FILE: file }).oidc?.clientSecret).toBe('from-a-file');
  });

  const { RM_OIDC_CLIENT_SECRET: _s, ...noSecret } = sso;
  const { RM_OIDC_CLIENT_ID: _i, ...noId } = sso;
  const { RM_OIDC_ADMIN_GROUPS: _g, ...noGroups } = sso;
  const { RM_BASE_URL: _b, ...noBase } = sso;
  it.each<[string, Record<string, string>, RegExp]>([
    ['missing client id', noId, /^invalid configuration: RM_OIDC_CLIENT_ID: required when RM_OIDC_ISSUER is set$/],
    ['missing secret', noSecret, /^invalid configuration: RM_OIDC_CLIENT_SECRET: required/],
    ['secret twice', { ...sso, RM_OIDC_CLIENT_SECRET_FILE: '/x' }, /^invalid configuration: RM_OIDC_CLIENT_SECRET_FILE: set either/],
    ['unreadable secret file', { ...noSecret, RM_OIDC_CLIENT_SECRET_FILE: '/nonexistent/secret' }, /^invalid configuration: RM_OIDC_CLIENT_SECRET_FILE: cannot read \/nonexistent\/secret: ENOENT$/],
    ['issuer not a URL', { ...sso, RM_OIDC_ISSUER: 'auth.example.org' }, /^invalid configuration: RM_OIDC_ISSUER: not a URL: 'auth.example.org'$/],
    ['plain http off loopback', { ...sso, RM_OIDC_ISSUER: 'http://auth.example.org' }, /^invalid configuration: RM_OIDC_ISSUER: must use https:\/\//],
    ['issuer with credentials', { ...sso, RM_OIDC_ISSUER: 'https://u:p@auth.example.org' }, /^invalid configuration: RM_OIDC_ISSUER: must be a plain https:\/\/ URL/],
    ['no base URL for the redirect URI', noBase, /^invalid configuration: RM_BASE_URL: required when RM_OIDC_ISSUER is set/],
    ['no role mapping', noGroups, /^invalid configuration: RM_OIDC_ADMIN_GROUPS: no role mapping/],
    ['unknown default role', { ...sso, RM_OIDC_DEFAULT_ROLE: 'root' }, /^invalid configuration: RM_OIDC_DEFAULT_ROLE: expected admin, operator or viewer, got 'root'$/],
    ['scopes without openid', { ...sso, RM_OIDC_SCOPES: 'profile email' }, /^invalid configuration: RM_OIDC_SCOPES: must include 'openid'/],
    ['bad boolean', { ...sso, RM_OIDC_ALLOW_PASSWORD_LOGIN: 'maybe' }, /^invalid configuration: RM_OIDC_ALLOW_PASSWORD_LOGIN: expected true or false, got 'maybe'$/],
    ['password off without SSO', { ...base, RM_OIDC_ALLOW_PASSWORD_LOGIN: 'false' }, /^invalid configuration: RM_OIDC_ALLOW_PASSWORD_LOGIN: false needs RM_OIDC_ISSUER/],
    ['client id without issuer', { ...base, RM_OIDC_CLIENT_ID: 'x' }, /^invalid configuration: RM_OIDC_CLIENT_ID: set RM_OIDC_ISSUER too/],
  ])('%s: one line naming the variable', (_name, env, expected) => {
    const msg = problem(env);
    expect(msg).toMatch(expected);
    expect(msg).not.toContain('\n');
    expect(msg).not.toContain('s3cret-value-xyz');
  });

  it('accepts the oidc_* keys in the YAML file but not the secret itself', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-oidc-yaml-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'oidc_issuer: https://auth.example.org\noidc_client_id: rm\noidc_viewer_groups: [a, b]\n');
    expect(loadConfigFromEnv({ ...base, RM_CONFIG_FILE: file, RM_OIDC_CLIENT_SECRET: 'x' }).oidc).toMatchObject({ clientId: 'rm', groups: { viewer: ['a', 'b'] } });
    writeFileSync(file, 'oidc_client_secret: nope\n');
    expect(problem({ ...base, RM_CONFIG_FILE: file })).toMatch(/^invalid configuration: RM_CONFIG_FILE: .*unknown key 'oidc_client_secret'/);
  });
});
