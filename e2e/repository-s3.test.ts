import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestServer, startS3Server } from '@restic-manager/testkit';
import type { RestServer, S3Server } from '@restic-manager/testkit';
import type { LocalStack } from './local-stack.js';
import { eventually, localStackTools, startLocalStack } from './local-stack.js';

/*
 * Issue 15 end to end: an S3 repository (s3rver over HTTPS, a private CA handed over as
 * tls_ca_pem, path-style) added through the API to a host with a real agent and real restic:
 * test connection (empty, then ok), init and backup into it, make it the host's primary, browse
 * and restore byte for byte from it, and a copy policy into a second (local) repository.
 */
const S3_PASSWORD = 's3-e2e-repository-password-7d1f';
const COPY_PASSWORD = 'copy-e2e-repository-password-2b9c';
const REST_USER = 'copyhost';
const REST_PASSWORD = 'rest-e2e-password-5e8a1c';

describe.skipIf(localStackTools.length > 0)('an S3 repository through server and agent', () => {
  let stack: LocalStack;
  let s3: S3Server;
  let rest: RestServer;
  let src: string;
  let s3Id = '';
  const files = { 'a.bin': randomBytes(300_000), 'dir/b.txt': Buffer.from('hello from s3\n') };

  beforeAll(async () => {
    s3 = await startS3Server();
    rest = await startRestServer({ users: { [REST_USER]: REST_PASSWORD }, privateRepos: true });
    stack = await startLocalStack();
    src = path.join(stack.tmp.path, 'src');
    for (const [name, data] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
      fs.writeFileSync(path.join(src, name), data);
    }
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    await s3?.stop();
    await rest?.stop();
  });

  const job = async (kind: string, args: Record<string, unknown>, repositoryId?: string) => {
    const r = await stack.api.req('POST', `/api/hosts/${stack.hostId}/jobs`, { kind, args, ...(repositoryId ? { repository_id: repositoryId } : {}) });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return stack.waitJob(r.body.job.id as string, 120_000);
  };

  it('is added, tested (empty, then ok), initialised and backed up through the agent', async () => {
    const add = await stack.api.req('POST', '/api/repositories', {
      name: 'offsite-s3', url: s3.repoUrl('e2e'), password: S3_PASSWORD, tls_ca_pem: s3.caCertPem,
      credentials: { backend: 's3', access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey, region: s3.region, path_style: true },
    });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    s3Id = add.body.repository.id as string;
    expect(add.body.repository).toMatchObject({ backend: 's3', credentials: { secret_access_key_set: true, access_key_id_set: true, path_style: true } });
    expect(JSON.stringify(add.body)).not.toContain(S3_PASSWORD);
    expect((await stack.api.req('PUT', `/api/hosts/${stack.hostId}/repositories/${s3Id}`, { primary: false })).status).toBe(200);

    const empty = await stack.api.req('POST', `/api/repositories/${s3Id}/test`, {});
    expect(empty.body).toMatchObject({ ok: false, empty: true, error_kind: 'not_initialised', host_id: stack.hostId });
    expect((await job('init', {}, s3Id)).status).toBe('succeeded');
    expect((await stack.api.req('POST', `/api/repositories/${s3Id}/test`, {})).body).toMatchObject({ ok: true, snapshot_count: 0 });
    const backup = await job('backup', { paths: [src] }, s3Id);
    expect(backup.status, JSON.stringify(backup)).toBe('succeeded');
    expect((await stack.api.req('POST', `/api/repositories/${s3Id}/test`, {})).body).toMatchObject({ ok: true, snapshot_count: 1 });
    // restic ran with the CA file and path-style addressing, never with a secret in argv.
    const s3Runs = stack.argv().filter((l) => l.includes('s3.bucket-lookup=path'));
    expect(s3Runs.length).toBeGreaterThan(0);
    expect(s3Runs.every((l) => l.includes('--cacert'))).toBe(true);
    expect(stack.argv().join('\n')).not.toContain(S3_PASSWORD);
    expect(stack.argv().join('\n')).not.toContain(s3.secretAccessKey);
  }, 240_000);

  it('as the primary: its snapshots are browsed and restored byte for byte', async () => {
    // Made the primary, its snapshots are listed without a backup or a manual snapshots job.
    expect((await stack.api.req('PUT', `/api/hosts/${stack.hostId}/repositories/${s3Id}`, { primary: true })).status).toBe(200);
    const snap = await eventually(async () => {
      const items = (await stack.api.req('GET', `/api/hosts/${stack.hostId}/snapshots`)).body.items as { id: string; paths: string[] }[];
      return items.find((s) => s.paths.includes(src)) ?? null;
    }, 30_000, 'the S3 snapshot listed');
    const ls = await stack.api.req('GET', `/api/hosts/${stack.hostId}/snapshots/${snap.id}/ls?path=${encodeURIComponent(src)}`);
    expect(ls.status, JSON.stringify(ls.body)).toBe(200);
    expect((ls.body.entries as { name: string }[]).map((e) => e.name).sort()).toEqual(['a.bin', 'dir']);
    const target = path.join(stack.tmp.path, 'restored');
    const r = await stack.api.req('POST', `/api/hosts/${stack.hostId}/restore`, { snapshot_id: snap.id, target });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect((await stack.waitJob(r.body.job.id as string, 120_000)).status).toBe('succeeded');
    for (const [name, data] of Object.entries(files)) expect(fs.readFileSync(path.join(target, src, name)).equals(data), name).toBe(true);
  }, 240_000);

  it('forget and prune run on it: a second backup, keep_last 1, one snapshot left and the repository checks clean', async () => {
    fs.writeFileSync(path.join(src, 'dir', 'c.txt'), 'second backup\n');
    expect((await job('backup', { paths: [src] })).status).toBe('succeeded');
    expect((await stack.api.req('POST', `/api/repositories/${s3Id}/test`, {})).body).toMatchObject({ ok: true, snapshot_count: 2 });
    const forget = await job('forget', { policy: { keep_last: 1 }, prune: false });
    expect(forget.status, JSON.stringify(forget)).toBe('succeeded');
    expect((await job('prune', {})).status).toBe('succeeded');
    expect((await job('check', { read_data_rotation: 1 })).status).toBe('succeeded');
    expect((await stack.api.req('POST', `/api/repositories/${s3Id}/test`, {})).body).toMatchObject({ ok: true, snapshot_count: 1 });
  }, 300_000);

  it('a copy policy copies its snapshots into a REST repository that checks clean, byte for byte', async () => {
    const add = await stack.api.req('POST', '/api/repositories', {
      name: 'second-copy-rest', url: rest.repoUrl(REST_USER), password: COPY_PASSWORD, credentials: { backend: 'rest', username: REST_USER, password: REST_PASSWORD },
    });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    const policy = await stack.api.req('POST', '/api/copy-policies', { source_repository_id: s3Id, target_repository_id: add.body.repository.id, host_id: stack.hostId, mode: 'after_backup' });
    expect(policy.status, JSON.stringify(policy.body)).toBe(201);
    const run = await stack.api.req('POST', `/api/copy-policies/${policy.body.id}/run`, {});
    expect(run.status, JSON.stringify(run.body)).toBe(202);
    const copy = await stack.waitJob(run.body.job_ids[0] as string, 180_000);
    expect(copy.status, JSON.stringify(copy)).toBe('succeeded');
    const target = new URL(rest.repoUrl(REST_USER).slice('rest:'.length));
    target.username = REST_USER;
    target.password = REST_PASSWORD;
    const env = { ...process.env, RESTIC_REPOSITORY: `rest:${target.toString()}`, RESTIC_PASSWORD: COPY_PASSWORD };
    const snaps = JSON.parse(spawnSync('restic', ['snapshots', '--json', '--no-cache'], { env, encoding: 'utf8' }).stdout) as { id: string; paths: string[] }[];
    expect(snaps.map((s) => s.paths)).toEqual([[src]]);
    expect(spawnSync('restic', ['check', '--no-cache'], { env }).status).toBe(0);
    const out = path.join(stack.tmp.path, 'from-copy');
    expect(spawnSync('restic', ['restore', snaps[0]!.id, '--target', out, '--no-cache'], { env }).status).toBe(0);
    for (const [name, data] of Object.entries(files)) expect(fs.readFileSync(path.join(out, src, name)).equals(data), name).toBe(true);
    const status = await stack.api.req('GET', `/api/hosts/${stack.hostId}/copy-status`);
    expect(JSON.stringify(status.body)).toContain('up_to_date');
    expect(JSON.stringify(status.body)).not.toContain(REST_PASSWORD);
  }, 300_000);
});
