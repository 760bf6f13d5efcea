import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/cli/dist/main.js');
if (!existsSync(cli)) console.warn(`skipping the server CLI OIDC tests: ${cli} is missing (run 'npx tsc -b' first)`);

const SECRET = 'cli-client-secret-never-printed';
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, 'server', ...args], { env: { PATH: process.env.PATH, RM_DATA_DIR: '/tmp/rm-cli-oidc', ...env }, encoding: 'utf8' });

describe.skipIf(!existsSync(cli))('restic-manager server (compiled CLI): OIDC settings', () => {
  it('lists every RM_OIDC_* variable in --help', () => {
    const help = run(['--help']).stdout;
    for (const v of ['RM_OIDC_ISSUER', 'RM_OIDC_CLIENT_ID', 'RM_OIDC_CLIENT_SECRET', 'RM_OIDC_CLIENT_SECRET_FILE', 'RM_OIDC_SCOPES', 'RM_OIDC_NAME', 'RM_OIDC_ROLE_CLAIM',
      'RM_OIDC_ADMIN_GROUPS', 'RM_OIDC_OPERATOR_GROUPS', 'RM_OIDC_VIEWER_GROUPS', 'RM_OIDC_DEFAULT_ROLE', 'RM_OIDC_ALLOW_PASSWORD_LOGIN', '/auth/oidc/callback']) {
      expect(help).toContain(v);
    }
  });

  it('exits 2 with one line naming the variable, and --print-config hides the client secret', () => {
    const bad = run([], { RM_OIDC_ISSUER: 'https://auth.example.org', RM_OIDC_CLIENT_SECRET: SECRET });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual(['restic-manager server: invalid configuration: RM_OIDC_CLIENT_ID: required when RM_OIDC_ISSUER is set']);
    const ok = run(['--print-config'], {
      RM_BASE_URL: 'https://backup.example.org', RM_OIDC_ISSUER: 'https://auth.example.org', RM_OIDC_CLIENT_ID: 'rm', RM_OIDC_CLIENT_SECRET: SECRET, RM_OIDC_VIEWER_GROUPS: 'staff',
    });
    expect(ok.status).toBe(0);
    expect(ok.stdout).not.toContain(SECRET);
    expect(JSON.parse(ok.stdout).oidc).toMatchObject({ clientSecret: '[set]', redirectUri: 'https://backup.example.org/auth/oidc/callback' });
  });

  it('RM_DATABASE_URL: a bad value exits 2 naming it; --print-config hides its password', () => {
    const bad = run([], { RM_DATABASE_URL: 'mysql://rm:pg-secret-never-printed@db/rm' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual(["restic-manager server: invalid configuration: RM_DATABASE_URL: must start with postgres:// or postgresql://, got 'mysql://'"]);
    const ok = run(['--print-config'], { RM_DATABASE_URL: 'postgres://rm:pg-secret-never-printed@db:5432/rm' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).not.toContain('pg-secret-never-printed');
    expect(JSON.parse(ok.stdout).databaseUrl).toBe('postgres://rm:[set]@db:5432/rm');
    expect(run(['--help']).stdout).toContain('RM_DATABASE_URL');
  });
});
