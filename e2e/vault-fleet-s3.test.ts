import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X25519Identity } from '@restic-manager/vault';
import { diffTrees, hashTree, startS3Server } from '@restic-manager/testkit';
import type { S3Server } from '@restic-manager/testkit';
import { ROOT } from './agent-harness.js';
import type { LocalStack } from './local-stack.js';
import { eventually, localStackTools, startLocalStack } from './local-stack.js';

/*
 * A vault backup from the server through the real agent to s3rver over HTTPS (self-signed CA,
 * given to the agent as RM_AGENT_VAULT_CA_CERT), restored on the trusted side with the CLI.
 */
const CLI = path.join(ROOT, 'packages/cli/dist/main.js');

describe.skipIf(localStackTools.length > 0)('vault jobs to S3 (s3rver over HTTPS) through the real agent', { timeout: 300_000 }, () => {
  let s3: S3Server;
  let s: LocalStack;
  let src: string;
  const id = X25519Identity.generate();
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['fleet-vault'] });
    s = await startLocalStack({ agentEnv: { RM_AGENT_VAULT_CA_CERT: s3.caCertPath } });
    src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'one.bin'), randomBytes(2 * 1024 * 1024));
    fs.writeFileSync(path.join(src, 'two.txt'), 'to s3\n'.repeat(3000));
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    await s3?.stop();
  });

  it('backs up to S3, lists the snapshot, restores it byte for byte on the trusted side', async () => {
    const put = await s.api.req('PUT', `/api/hosts/${s.hostId}/vault`, {
      storage: { type: 's3', endpoint: s3.endpoint, bucket: 'fleet-vault', prefix: 'host1/', region: s3.region, access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey },
      age_recipient: id.recipient.toString(),
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const job = await s.waitJob(await s.runJob('vault_backup', { paths: [src] }), 120_000);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    const snapId = String(job.stats.snapshot_id);
    await eventually(async () => ((await s.api.req('GET', `/api/hosts/${s.hostId}/vault`)).body.snapshots?.[0]?.id === snapId ? true : null), 20_000, 'the S3 vault snapshot in the API');
    const check = await s.waitJob(await s.runJob('vault_check', { read_data: true }), 120_000);
    expect(check.status, JSON.stringify(check)).toBe('succeeded');

    const target = path.join(s.tmp.path, 'restored');
    // Asynchronously: s3rver runs in this process, a synchronous spawn would starve it.
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'vault', 'restore', 'fleet-vault', 'host1/', snapId, target], {
        env: { ...process.env, VAULTIK_PRIVATE_KEY: id.toString(), AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, VAULTIK_S3_ENDPOINT: s3.endpoint, VAULTIK_S3_CA_CERT: s3.caCertPath },
      });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    expect(diffTrees(await hashTree(src), await hashTree(path.join(target, src)))).toEqual([]);
    const pid = s.agentPid();
    if (pid) expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(s3.secretAccessKey);
  });
});
