import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, tempDir, type S3Server, type TempDir } from '@restic-manager/testkit';
import { LocalStorage } from '../src/storage/index.js';
import { S3Storage } from '../src/storage/s3.js';
import { storageContract } from './storage-contract.js';

describe('LocalStorage', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await tempDir('vault-local-');
  });
  afterAll(() => dir.cleanup());
  storageContract(
    () => new LocalStorage(dir.path),
    () => new LocalStorage(path.join(dir.path, 'does-not-exist')),
  );
});

describe('S3Storage against s3rver over HTTPS', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['vault-test'] });
  });
  afterAll(() => s3.stop());
  const opts = (bucket: string) => ({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket,
    prefix: 'host1/',
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    caCertPem: s3.caCertPem,
    maxAttempts: 2,
  });
  storageContract(
    () => new S3Storage(opts('vault-test')),
    () => new S3Storage(opts('no-such-bucket')),
  );

  it('an unreachable endpoint fails after retries with a clear error', async () => {
    const s = new S3Storage({ ...opts('vault-test'), endpoint: 'https://127.0.0.1:1', maxAttempts: 3 });
    const err = await s.put('x', Buffer.from('x')).then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('Failed');
    expect(err?.message).toMatch(/ECONNREFUSED|connect/i);
  });
});
