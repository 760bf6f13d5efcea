import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFromEnv } from '@restic-manager/server';
import { derivedClusterUrl } from '../src/config.js';

const base = { RM_DATA_DIR: '/tmp/rm-data' };
const fail = (env: Record<string, string>) => {
  try {
    loadConfigFromEnv({ ...base, ...env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('applies defaults', () => {
    const c = loadConfigFromEnv(base);
    expect(c).toMatchObject({ listenHost: '0.0.0.0', listenPort: 8080, cookieSecure: true, trustedProxies: [], secretKeyFile: '/tmp/rm-data/secret.key', agentTimeoutMs: 90_000, notifyAllowPrivate: false });
    expect(loadConfigFromEnv({ ...base, RM_NOTIFY_ALLOW_PRIVATE: 'true' }).notifyAllowPrivate).toBe(true);
  });

  it('parses listen addresses, CIDR lists and booleans', () => {
    const c = loadConfigFromEnv({ ...base, RM_LISTEN: '127.0.0.1:0', RM_TRUSTED_PROXY: '172.16.0.0/12, ::1', RM_COOKIE_SECURE: 'false', RM_BASE_URL: 'https://backup.example.org/' });
    expect(c).toMatchObject({ listenHost: '127.0.0.1', listenPort: 0, trustedProxies: ['172.16.0.0/12', '::1/128'], cookieSecure: false, baseUrl: 'https://backup.example.org' });
    expect(loadConfigFromEnv({ ...base, RM_LISTEN: '[::1]:9000' })).toMatchObject({ listenHost: '::1', listenPort: 9000 });
  });

  it('names the variable and the problem in one line', () => {
    expect(fail({ RM_LISTEN: '8080' })).toBe("invalid configuration: RM_LISTEN: expected [host]:port such as ':8080' or '127.0.0.1:8080', got '8080'");
    expect(fail({ RM_LISTEN: ':99999' })).toMatch(/^invalid configuration: RM_LISTEN: port 99999/);
    expect(fail({ RM_TRUSTED_PROXY: '10.0.0.0/33' })).toMatch(/^invalid configuration: RM_TRUSTED_PROXY: '10.0.0.0\/33' is not a CIDR/);
    expect(fail({ RM_COOKIE_SECURE: 'maybe' })).toMatch(/^invalid configuration: RM_COOKIE_SECURE: expected true or false/);
    expect(fail({ RM_NOTIFY_ALLOW_PRIVATE: 'maybe' })).toMatch(/^invalid configuration: RM_NOTIFY_ALLOW_PRIVATE: expected true or false/);
    expect(fail({ RM_BASE_URL: 'ftp://x' })).toMatch(/RM_BASE_URL: must start with http/);
    expect(fail({ RM_DATA_DIR: '' })).toMatch(/RM_DATA_DIR: required/);
    for (const m of [fail({ RM_LISTEN: 'x' }), fail({ RM_AGENT_TIMEOUT_MS: '-1' })]) expect(m.split('\n')).toHaveLength(1);
  });

  it('validates RM_DATABASE_URL in one line without echoing the password', () => {
    expect(loadConfigFromEnv({ ...base, RM_DATABASE_URL: '' })).toMatchObject({ dataDir: '/tmp/rm-data', databaseUrl: null });
    expect(loadConfigFromEnv({ ...base, RM_DATABASE_URL: 'postgres://u:s3cret@db.example.org:5432/rm' })).toMatchObject({ databaseUrl: 'postgres://u:s3cret@db.example.org:5432/rm' });
    expect(loadConfigFromEnv({ ...base, RM_DATABASE_URL: 'postgresql:///rm?host=/run/postgresql' })).toMatchObject({ databaseUrl: 'postgresql:///rm?host=/run/postgresql' });
    expect(fail({ RM_DATABASE_URL: 'not a url' })).toBe('invalid configuration: RM_DATABASE_URL: not a URL; expected postgres://user:password@host:5432/database');
    expect(fail({ RM_DATABASE_URL: 'mysql://u:s3cret@db/rm' })).toMatch(/^invalid configuration: RM_DATABASE_URL: must start with postgres:\/\/ or postgresql:\/\//);
    expect(fail({ RM_DATABASE_URL: 'postgres://u:s3cret@db.example.org:5432/' })).toMatch(/RM_DATABASE_URL: names no database/);
    expect(fail({ RM_DATABASE_URL: 'postgres:///rm' })).toMatch(/RM_DATABASE_URL: names no host/);
    const msgs = [fail({ RM_DATABASE_URL: 'mysql://u:s3cret@db/rm' }), fail({ RM_DATABASE_URL: 'postgresql:///?host=/run/postgresql&password=s3cret' })];
    for (const m of msgs) {
      expect(m).not.toContain('s3cret');
      expect(m.split('\n')).toHaveLength(1);
    }
  });

  it('RM_CLUSTER_URL: an origin other replicas dial; unset, derived from a concrete listen address only', () => {
    expect(loadConfigFromEnv(base).clusterUrl).toBeNull();
    expect(loadConfigFromEnv({ ...base, RM_CLUSTER_URL: 'http://10.0.0.5:8080/' }).clusterUrl).toBe('http://10.0.0.5:8080');
    expect(loadConfigFromEnv({ ...base, RM_CLUSTER_URL: 'https://rm-a.internal' }).clusterUrl).toBe('https://rm-a.internal');
    expect(fail({ RM_CLUSTER_URL: 'rm-a:8080' })).toMatch(/^invalid configuration: RM_CLUSTER_URL: must start with http:\/\/ or https:\/\//);
    expect(fail({ RM_CLUSTER_URL: 'http://u:pw@rm-a:8080' })).toBe('invalid configuration: RM_CLUSTER_URL: must not contain credentials');
    expect(fail({ RM_CLUSTER_URL: 'http://rm-a:8080/rm' })).toBe("invalid configuration: RM_CLUSTER_URL: must be only scheme, host and port (e.g. http://10.0.0.5:8080), got 'http://rm-a:8080/rm'");
    expect(fail({ RM_CLUSTER_URL: 'not a url' })).toMatch(/^invalid configuration: RM_CLUSTER_URL: not a URL/);
    expect([derivedClusterUrl('10.0.0.5', 8080), derivedClusterUrl('::1', 9000), derivedClusterUrl('rm-a.internal', 80)]).toEqual(['http://10.0.0.5:8080', 'http://[::1]:9000', 'http://rm-a.internal:80']);
    expect([derivedClusterUrl('0.0.0.0', 8080), derivedClusterUrl('::', 8080)]).toEqual([null, null]);
  });

  it('reads an optional YAML file, with the environment taking precedence', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-cfg-'));
    const file = path.join(dir, 'server.yaml');
    writeFileSync(file, 'listen: "127.0.0.1:9090"\ntrusted_proxy: ["10.0.0.0/8"]\ncookie_secure: false\n');
    expect(loadConfigFromEnv({ ...base, RM_CONFIG_FILE: file })).toMatchObject({ listenPort: 9090, trustedProxies: ['10.0.0.0/8'], cookieSecure: false });
    expect(loadConfigFromEnv({ ...base, RM_CONFIG_FILE: file, RM_LISTEN: ':7000' })).toMatchObject({ listenPort: 7000 });
    writeFileSync(file, 'admin_password: x\n');
    expect(fail({ RM_CONFIG_FILE: file })).toMatch(/RM_CONFIG_FILE: .*unknown key 'admin_password'/);
  });
});
