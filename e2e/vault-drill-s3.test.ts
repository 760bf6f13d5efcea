import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X25519Identity } from '@restic-manager/vault';
import { startS3Server, tempDir } from '@restic-manager/testkit';
import type { S3Server, TempDir } from '@restic-manager/testkit';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { eventually, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { argvSampler } from './robustness/procs.js';

/*
 * A vault drill of an S3 vault target (s3rver over HTTPS): the trusted host B gets the S3 keys
 * for the drill job only (over IPC, never argv) and its identity from RM_VAULT_IDENTITY_FILE.
 */

describe.skipIf(restoreStackTools.length > 0)('vault drill of an S3 vault target on a trusted host', { timeout: 300_000 }, () => {
  let s3: S3Server;
  let s: RestoreStack;
  let keys: TempDir;
  let a: StackAgent;
  let b: StackAgent;
  const id = X25519Identity.generate();

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['drill-vault'] });
    keys = await tempDir('rm-vault-identity-');
    const identityFile = path.join(keys.path, 'identity.txt');
    fs.writeFileSync(identityFile, `${id.toString()}\n`, { mode: 0o600 });
    s = await startRestoreStack(['vs3-a', 'vs3-b'], {
      agentEnv: (name) => ({ RM_AGENT_VAULT_CA_CERT: s3.caCertPath, ...(name === 'vs3-b' ? { RM_VAULT_IDENTITY_FILE: identityFile } : {}) }),
    });
    [a, b] = s.agents as [StackAgent, StackAgent];
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    await s3?.stop();
    await keys?.cleanup();
  });

  it('backs up to S3 on A, drills on B (keys in the job only), records the proof', async () => {
    const src = path.join(s.tmp.path, 's3src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'one.bin'), randomBytes(1024 * 1024));
    fs.writeFileSync(path.join(src, 'two.txt'), 'to s3\n'.repeat(3000));
    const put = await s.api.req('PUT', `/api/hosts/${a.hostId}/vault`, {
      storage: { type: 's3', endpoint: s3.endpoint, bucket: 'drill-vault', prefix: 'a/', region: s3.region, access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey },
      age_recipient: id.recipient.toString(),
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const backup = await s.waitJob(await s.runJob(a.hostId, 'vault_backup', { paths: [src] }), 120_000);
    expect(backup.status, JSON.stringify(backup)).toBe('succeeded');
    await eventually(async () => ((await s.api.req('GET', `/api/hosts/${a.hostId}/vault`)).body.snapshots?.length === 1 ? true : null), 20_000, 'the vault snapshot listed');
    expect((await s.api.req('PUT', `/api/hosts/${b.hostId}/vault-drill-trust`, { trusted: true })).body).toMatchObject({ trusted: true, identity_recipient: id.recipient.toString() });

    const argv = argvSampler([s3.secretAccessKey, id.toString()], 20);
    const r = await s.api.req('POST', `/api/hosts/${a.hostId}/vault-drills`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await s.waitJob(r.body.jobs[0].id as string, 120_000);
    argv.stop();
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(job.host_id).toBe(b.hostId);
    expect(job.stats).toMatchObject({ files: 2, snapshot_files: 2 });
    expect([...argv.leaks]).toEqual([]);
    const logs = JSON.stringify((await s.api.req('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body);
    expect(logs).not.toContain(s3.secretAccessKey);
    expect(logs).not.toContain(id.toString());
    expect((await s.api.req('GET', `/api/hosts/${a.hostId}/restore-drills`)).body.vault).toBe('proven');
  });
});
