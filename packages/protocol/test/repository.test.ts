import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BackendCredentials} from '../src/index.js';
import { CreateRepositoryRequest, SECRET_FIELDS, backendOfUrl, credentialSecrets, credentialsView, urlProblem } from '../src/index.js';

describe('repository locations', () => {
  it.each([
    ['/srv/restic', 'local'], ['local:/srv/r', 'local'], ['rest:https://b.example:8000/h1/', 'rest'], ['s3:https://127.0.0.1:9000/bucket/p', 's3'],
    ['b2:bucket:path', 'b2'], ['azure:container:/p', 'azure'], ['gs:bucket:/p', 'gcs'], ['sftp:backup@127.0.0.1:/srv/r', 'sftp'], ['rclone:remote:path', 'rclone'],
  ])('%s is a %s location', (url, backend) => {
    expect(backendOfUrl(url)).toBe(backend);
    expect(urlProblem(url)).toBeNull();
  });

  it.each([
    'relative/path', 'ftp://x/y', 'rest:https://user:pw@b.example/r/', 'rest:https://user@b.example/r/', 's3:https://key:secret@host/bucket',
    'sftp:user:pw@host:/p', 'sftp://user:pw@host:22//p', 'rest:ftp://x/', 'rclone:bad remote:x', '/srv/a\nb', 's3:',
  ])('%s is refused', (url) => {
    expect(urlProblem(url)).not.toBeNull();
  });

  it('names the field when the credentials are for another backend', () => {
    const r = CreateRepositoryRequest.safeParse({ name: 'x', url: 's3:https://127.0.0.1/b', credentials: { backend: 'b2', account_id: 'a', account_key: 'k' } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toContain('credentials.backend');
  });

  it('asks for credentials where the backend needs them and a password to import', () => {
    const r = CreateRepositoryRequest.safeParse({ name: 'x', url: 'sftp:u@127.0.0.1:/r', import: true });
    expect(r.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['credentials', 'password']);
  });
});

describe('credentials views', () => {
  const text = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\r\n\0]/.test(s));
  const creds = fc.oneof(
    fc.record({ backend: fc.constant('s3' as const), access_key_id: text, secret_access_key: text, session_token: text, region: fc.constant('eu-west-1') }),
    fc.record({ backend: fc.constant('b2' as const), account_id: text, account_key: text }),
    fc.record({ backend: fc.constant('azure' as const), account_name: fc.constant('acct'), account_key: text }),
    fc.record({ backend: fc.constant('rest' as const), username: fc.constant('h1'), password: text }),
    fc.record({ backend: fc.constant('rclone' as const), remote_type: fc.constant('webdav'), options: fc.dictionary(fc.constantFrom('url', 'user', 'pass'), text) }),
  );

  it('never shows a secret value, and flags every secret field as set', () => {
    fc.assert(fc.property(creds, (c) => {
      const v = credentialsView(c as BackendCredentials);
      const shown = Object.values(v);
      for (const s of credentialSecrets(c as BackendCredentials)) expect(shown).not.toContain(s);
      for (const f of SECRET_FIELDS[c.backend]) if ((c as Record<string, unknown>)[f] !== undefined) expect(v[`${f}_set`]).toBe(true);
    }), { numRuns: 500 });
  });
});
