import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestServer, startS3Server, tempDir, type TempDir } from '@restic-manager/testkit';
import { restic } from './helpers.js';

let src: TempDir;
beforeAll(async () => {
  src = await tempDir();
  await writeFile(path.join(src.path, 'hello.txt'), 'hello world\n');
});
afterAll(() => src.cleanup());

describe('startS3Server', () => {
  it('serves HTTPS that restic can init, back up to and check with --cacert', async () => {
    const s3 = await startS3Server({ buckets: ['bucket-one', 'bucket-two'] });
    try {
      expect(s3.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(s3.bucket).toBe('bucket-one');
      expect(s3.caCertPem).toContain('BEGIN CERTIFICATE');
      const env = {
        RESTIC_REPOSITORY: s3.repoUrl('repo'),
        RESTIC_PASSWORD: 'pw',
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_DEFAULT_REGION: s3.region,
      };
      const noCa = await restic(['init', '--no-cache'], env);
      expect(noCa.code).not.toBe(0);
      expect(noCa.stderr).toMatch(/certificate/i);
      const init = await restic(['init', '--no-cache', '--cacert', s3.caCertPath], env);
      expect(init.stderr).toBe('');
      expect(init.code).toBe(0);
      const backup = await restic(['backup', '--no-cache', '--cacert', s3.caCertPath, src.path], env);
      expect(backup.code).toBe(0);
      const check = await restic(['check', '--no-cache', '--cacert', s3.caCertPath, '--read-data'], env);
      expect(check.code, check.stderr).toBe(0);
    } finally {
      await s3.stop();
    }
    await expect(fetch(s3.endpoint)).rejects.toThrow();
  });
});

describe('startRestServer', () => {
  it('runs rclone serve restic with htpasswd, private repos and append-only', async () => {
    const rest = await startRestServer({ users: { alice: 'a-pass', bob: 'b-pass' }, appendOnly: true, privateRepos: true });
    try {
      expect(rest.repoUrl('alice')).toBe(`rest:${rest.url}/alice/`);
      expect((await fetch(`${rest.url}/alice/config`)).status).toBe(401);
      const withCreds = (user: string, pass: string, repoUser = user) =>
        rest.repoUrl(repoUser).replace('http://', `http://${user}:${pass}@`);
      const ok = await restic(['init', '--no-cache'], { RESTIC_REPOSITORY: withCreds('alice', 'a-pass'), RESTIC_PASSWORD: 'pw' });
      expect(ok.code, ok.stderr).toBe(0);
      expect(await readdir(path.join(rest.dataDir, 'alice'))).toContain('config');
      const wrongPass = await restic(['snapshots', '--no-cache'], { RESTIC_REPOSITORY: withCreds('alice', 'nope'), RESTIC_PASSWORD: 'pw' });
      expect(wrongPass.code).not.toBe(0);
      const otherUser = await restic(['init', '--no-cache'], { RESTIC_REPOSITORY: withCreds('bob', 'b-pass', 'alice'), RESTIC_PASSWORD: 'pw' });
      expect(otherUser.code).not.toBe(0);
      const auth = `Basic ${Buffer.from('alice:a-pass').toString('base64')}`;
      const del = await fetch(`${rest.url}/alice/config`, { method: 'DELETE', headers: { authorization: auth } });
      expect(del.status).toBe(403);
    } finally {
      await rest.stop();
    }
    await expect(fetch(rest.url)).rejects.toThrow();
  });
});
