// The whole CLI against s3rver over HTTPS (self-signed CA via the config's s3.ca_cert).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffTrees, hashTree, makeCorpus, startS3Server, tempDir, type S3Server, type TempDir } from '@restic-manager/testkit';
import { X25519Identity } from '@restic-manager/vault';
import { haveCli, vaultAsync } from './vault-cli-helpers.js';

let s3: S3Server;
let dir: TempDir;
beforeAll(async () => {
  s3 = await startS3Server({ buckets: ['vault-e2e'] });
  dir = await tempDir('vault-s3-');
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

function config(id: X25519Identity, accessKey = s3.accessKeyId, bucket = 'vault-e2e'): string {
  const file = path.join(dir.path, `cfg-${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(
    file,
    [
      `source_dirs: [${path.join(dir.path, 'src')}]`,
      `age_recipient: ${id.recipient.toString()}`,
      's3:',
      `  endpoint: ${s3.endpoint}`,
      `  bucket: ${bucket}`,
      '  prefix: host1/',
      `  access_key_id: ${accessKey}`,
      `  secret_access_key: ${s3.secretAccessKey}`,
      `  region: ${s3.region}`,
      `  ca_cert: ${s3.caCertPath}`,
      `index_path: ${path.join(dir.path, 'index.sqlite')}`,
      'chunk_size: 128KiB',
      'pack_size: 1MiB',
      '',
    ].join('\n'),
  );
  return file;
}

describe.skipIf(!haveCli)('vault CLI on S3 (s3rver over HTTPS)', () => {
  it('backup, snapshots, restore (credentials from env), check, prune', async () => {
    const src = path.join(dir.path, 'src');
    await makeCorpus(src, { files: 25, totalBytes: 3_000_000, seed: 's3e2e' });
    const id = X25519Identity.generate();
    const cfg = config(id);
    const b = await vaultAsync(['backup', cfg, '--json']);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const snap = (JSON.parse(b.stdout.trim().split('\n').pop()!) as { snapshot_id: string }).snapshot_id;
    const list = await vaultAsync(['snapshots', '--config', cfg]);
    expect(list.stdout).toContain(snap);
    const env = {
      VAULTIK_PRIVATE_KEY: id.toString(),
      VAULTIK_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      VAULTIK_S3_CA_CERT: s3.caCertPath,
    };
    const out = path.join(dir.path, 'out');
    const r = await vaultAsync(['restore', 'vault-e2e', 'host1/', snap, out], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(diffTrees(await hashTree(src), await hashTree(path.join(out, src)))).toEqual([]);
    expect((await vaultAsync(['check', 'vault-e2e', 'host1/'], env)).code).toBe(0);
    const p = await vaultAsync(['prune', 'vault-e2e', 'host1/', '--keep-last', '3'], { ...env, VAULTIK_PRIVATE_KEY: '' });
    expect(p.stdout).toMatch(/kept 1 snapshots, removed 0; deleted 0 blobs/);
  });

  it("today's vaultik form on S3: storage_url s3://bucket/prefix?endpoint=…, snapshots:, age_recipients; restore with VAULTIK_AGE_SECRET_KEY", async () => {
    const src = path.join(dir.path, 'src-url');
    await makeCorpus(src, { files: 5, totalBytes: 300_000, seed: 's3url' });
    const [a, b] = [X25519Identity.generate(), X25519Identity.generate()];
    const file = path.join(dir.path, 'url.yaml');
    writeFileSync(file, [
      'snapshots:', '  data:', `    paths: [${src}]`,
      'age_recipients:', `  - ${a.recipient.toString()}`, `  - ${b.recipient.toString()}`,
      `storage_url: s3://vault-e2e/url-host/?endpoint=${s3.endpoint.replace('https://', '')}&region=${s3.region}`,
      's3:', `  access_key_id: ${s3.accessKeyId}`, `  secret_access_key: ${s3.secretAccessKey}`, `  ca_cert: ${s3.caCertPath}`,
      `index_path: ${path.join(dir.path, 'url-index.sqlite')}`, '',
    ].join('\n'));
    const bk = await vaultAsync(['backup', file, '--json']);
    expect(bk.stderr).toBe('');
    expect(bk.code).toBe(0);
    const summary = JSON.parse(bk.stdout.trim().split('\n').pop()!) as { snapshot_id: string; name: string };
    expect(summary.name).toBe('data');
    const out = path.join(dir.path, 'out-url');
    const env = { VAULTIK_AGE_SECRET_KEY: b.toString(), VAULTIK_PRIVATE_KEY: '', VAULTIK_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, VAULTIK_S3_CA_CERT: s3.caCertPath };
    const r = await vaultAsync(['restore', 'vault-e2e', 'url-host/', summary.snapshot_id, out], env);
    expect(r.stderr).toBe('');
    expect(diffTrees(await hashTree(src), await hashTree(path.join(out, src)))).toEqual([]);
  });

  it('unknown S3 access key and missing bucket: clear errors, exit 1, secret not echoed', async () => {
    const id = X25519Identity.generate();
    // (s3rver checks the access key id; it does not verify signatures made with a wrong secret.)
    const denied = await vaultAsync(['backup', config(id, 'WRONGKEY123')]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/access denied/i);
    expect(denied.stderr).not.toContain(s3.secretAccessKey);
    const missing = await vaultAsync(['backup', config(id, s3.accessKeyId, 'no-such-bucket')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/bucket no-such-bucket does not exist/);
  });
});
