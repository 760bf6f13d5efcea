// Write-only hosts on S3: the hosts' key goes through a proxy that refuses every DELETE and every
// overwrite (test/write-only-proxy.ts); the trusted prune talks to s3rver directly. Two hosts back
// up into one prefix again and again while prunes run back to back with grace 0 and keep_last 3;
// no host request is ever refused, no backup fails, and every snapshot restores and checks clean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, tempDir, type S3Server, type TempDir } from '@restic-manager/testkit';
import { StorageError } from '../src/index.js';
import { S3Storage } from '../src/storage/s3.js';
import { backupsBesidePrunes } from './concurrent-prune.js';
import { startWriteOnlyProxy, type WriteOnlyProxy } from './write-only-proxy.js';

let s3: S3Server;
let proxy: WriteOnlyProxy;
let dir: TempDir;
let trusted: S3Storage;
const BUCKET = 'vault-wo';
const PREFIX = 'fleet/';

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  dir = await tempDir('vault-wo-s3-');
  trusted = new S3Storage({ endpoint: s3.endpoint, region: s3.region, bucket: BUCKET, prefix: PREFIX, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, caCertPem: s3.caCertPem, maxAttempts: 2 });
  const direct = new S3Storage({ endpoint: s3.endpoint, region: s3.region, bucket: BUCKET, prefix: '', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, caCertPem: s3.caCertPem, maxAttempts: 2 });
  proxy = await startWriteOnlyProxy(s3.endpoint, s3.caCertPem, PREFIX, async (_bucket, key) => (await direct.head(key)) !== null);
});
afterAll(async () => {
  trusted.destroy();
  await proxy.stop();
  await s3.stop();
  await dir.cleanup();
});

function hostStorage(): S3Storage {
  return new S3Storage({ endpoint: proxy.endpoint, region: s3.region, bucket: BUCKET, prefix: PREFIX, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, maxAttempts: 3 });
}

describe('write-only hosts on S3 with a concurrent trusted prune', () => {
  it('the proxy really refuses a delete, an overwrite, a read outside prune/ and HeadBucket from the host key', async () => {
    const host = hostStorage();
    await host.put('probe/x', Buffer.from('1'), { createOnly: true });
    await expect(host.put('probe/x', Buffer.from('2'))).rejects.toMatchObject({ code: 'Denied' });
    await expect(host.delete('probe/x')).rejects.toBeInstanceOf(StorageError);
    await expect(host.get('probe/x')).rejects.toMatchObject({ code: 'Denied' });
    await expect(host.probe()).resolves.toBeUndefined(); // HeadBucket is refused; listing the prefix is enough
    expect((await trusted.get('probe/x')).toString()).toBe('1');
    expect(proxy.refused).toEqual(['overwrite PUT fleet/probe/x', 'DELETE fleet/probe/x', 'GET fleet/probe/x', 'HeadBucket vault-wo']);
    proxy.refused.length = 0;
    await trusted.delete('probe/x');
    host.destroy();
  });

  it('backups of two hosts and back-to-back prunes: nothing refused, no backup fails, every snapshot restores', async () => {
    const hosts: S3Storage[] = [];
    const r = await backupsBesidePrunes(dir.path, {
      target: { s3: { bucket: BUCKET, prefix: PREFIX } },
      host: () => {
        const h = hostStorage();
        hosts.push(h);
        return h;
      },
      trusted,
    });
    for (const h of hosts) h.destroy();
    expect(r.snapshots).toBe(10);
    expect(r.prunes).toBeGreaterThan(1);
    expect(r.deleted).toBeGreaterThan(0);
    expect(r.verified).toBeGreaterThanOrEqual(5);
    // HeadBucket is refused by design (the key may list only its prefix; probe falls back); nothing else is.
    expect(proxy.refused.filter((r) => !r.startsWith('HeadBucket '))).toEqual([]);
  }, 120_000);
});
