import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResticEngine, openErrorKind } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';
import { requireTool, startS3Server, type S3Server } from '@restic-manager/testkit';
import { open, roundTrip } from './backends/roundtrip.js';

const missing = [requireTool('restic')].find((t) => !t.ok);
if (missing && !missing.ok) console.warn(`skipping the S3 backend tests: ${missing.reason}`);

const PW = 's3-repo-pw-1f6c';

describe.skipIf(missing !== undefined)('restic on S3 (s3rver over HTTPS) through the materialiser', () => {
  let s3: S3Server;
  let root: string;
  const repo = (url: string, over: { tls?: boolean; keyId?: string } = {}): RepositoryConfig => ({
    id: 's', name: 's', engine: 'restic', url, password: PW,
    credentials: { backend: 's3', access_key_id: over.keyId ?? s3.accessKeyId, secret_access_key: s3.secretAccessKey, region: s3.region, path_style: true },
    ...(over.tls === false ? {} : { tls_ca_pem: s3.caCertPem }),
  });

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['bkt'] });
    root = await mkdtemp(path.join(os.tmpdir(), 'rm-s3-client-'));
  });
  afterAll(async () => {
    await s3?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('init, backup and a byte-for-byte restore, path-style, trusting the server through tls_ca_pem', async () => {
    await roundTrip(repo(s3.repoUrl('p1')), root, [PW]);
  });

  it('open failures: no CA is tls, an unknown key id is wrong_credentials, a missing repository (or bucket) is not_initialised', async () => {
    const kindOf = async (r: RepositoryConfig): Promise<string> => {
      const res = await new ResticEngine().snapshots((await open(r, root)).conn, undefined, { timeoutMs: 60_000 });
      return res.ok ? 'ok' : `${openErrorKind(res.error)}: ${res.error.message} | ${res.error.stderrTail.join(' / ')}`;
    };
    expect(await kindOf(repo(s3.repoUrl('p1'), { tls: false }))).toMatch(/^tls: /);
    expect(await kindOf(repo(s3.repoUrl('p1'), { keyId: 'NOT-A-KNOWN-KEY' }))).toMatch(/^wrong_credentials: /);
    // restic 0.14 reads `config` with a HEAD request, whose 404 carries no body: a missing bucket
    // looks exactly like an empty one (and `init` creates the bucket), so both are not_initialised.
    expect(await kindOf(repo(s3.repoUrl('p1', 'no-such-bucket')))).toMatch(/^not_initialised: /);
    expect(await kindOf(repo(s3.repoUrl('p2')))).toMatch(/^not_initialised: /);
  });
});
