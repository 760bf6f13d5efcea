import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { answerLog } from './helpers/answers.js';
import { useHarness } from './helpers/harness.js';

/*
 * A host's vault target (docs/vault.md "Fleet"): S3 keys sealed at rest and sent only inside the
 * command.run of a vault job; an age private key is refused and never stored; agents that did not
 * announce 'vault' get no vault job; vault.snapshots.report shows up in GET /api/hosts/:id/vault.
 */
const RECIPIENT = 'age1d6e0x5hfamz0hztz5qscux3m87f7lhd7kgalsgsr26k84mgt0e7s3ukm54';
const PRIVATE = 'AGE-SECRET-KEY-1YQRJALCUJNZRUP0VZX7AWFXYPPGHSDP8WC2WJR82VRMWPP9J54JQNMFUQN';
const SECRET = 's3-secret-MARKER-5b2e19';
const KEY_ID = 'AKIA-MARKER-77aa';

describe('vault target API', () => {
  const h = useHarness();
  let agent: FakeAgent;
  let old: FakeAgent;
  let hostId: string;
  let oldHostId: string;
  const { seen, req } = answerLog(() => h.admin);
  const enroll = async (name: string, features: string[]) => {
    const add = await h.admin.req('POST', '/api/hosts', { name, repository: { url: '/srv/repo', password: 'repo-password-123456' } });
    const enr = await FakeAgent.enroll(h.url, add.body.token as string, name);
    const a = new FakeAgent({ url: h.url, bearer: enr.bearer_token, features });
    await a.connect();
    await a.next('config.update');
    return { a, id: enr.host_id };
  };
  beforeAll(async () => {
    ({ a: agent, id: hostId } = await enroll('vault-host', ['databases', 'vault']));
    ({ a: old, id: oldHostId } = await enroll('old-host', ['databases']));
  });
  afterAll(async () => {
    await agent?.close();
    await old?.close();
  });

  it('refuses a private key pasted as the recipient and stores nothing', async () => {
    const r = await req('PUT', `/api/hosts/${hostId}/vault`, { storage: { type: 'local', path: '/srv/v' }, age_recipient: PRIVATE });
    expect(r.status).toBe(400);
    expect(r.body.error.fields.age_recipient).toMatch(/PRIVATE key.*age1/s);
    expect((await req('GET', `/api/hosts/${hostId}/vault`)).status).toBe(404);
  });

  it('sizes: a 10 GB blob size limit (the vault default) is stored on either store; a chunk size outside 64 KiB–64 MiB is refused naming the field', async () => {
    const { a, id } = await enroll('vault-sizes', ['vault']);
    const local = { type: 'local', path: '/srv/v' };
    const big = await req('PUT', `/api/hosts/${id}/vault`, { storage: local, age_recipient: RECIPIENT, chunk_size: 64 * 1024 * 1024, blob_size_limit: 10_000_000_000 });
    expect(big.status, big.text).toBe(200);
    expect((await req('GET', `/api/hosts/${id}/vault`)).body).toMatchObject({ chunk_size: 64 * 1024 * 1024, blob_size_limit: 10_000_000_000 });
    for (const chunk_size of [1024, 2 ** 31, 9007199254740990]) {
      const r = await req('PUT', `/api/hosts/${id}/vault`, { storage: local, age_recipient: RECIPIENT, chunk_size });
      expect(r.status, r.text).toBe(400);
      expect(r.body.error.fields.chunk_size).toMatch(/64 KiB|64 MiB/);
    }
    await a.close();
  });

  it('stores S3 keys sealed, shows only keys_set, keeps them when a later PUT omits them', async () => {
    const put = await req('PUT', `/api/hosts/${hostId}/vault`, {
      storage: { type: 's3', endpoint: 'https://s3.example.com', bucket: 'vaults', prefix: 'h1/', access_key_id: KEY_ID, secret_access_key: SECRET },
      age_recipient: RECIPIENT, chunk_size: 524288,
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ storage: { type: 's3', bucket: 'vaults', prefix: 'h1/', keys_set: true }, age_recipient: RECIPIENT, chunk_size: 524288, snapshots: [] });
    expect(put.body.restore_command).toBe(`AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… VAULTIK_S3_ENDPOINT=https://s3.example.com VAULTIK_PRIVATE_KEY="$(grep AGE-SECRET-KEY vault-key.txt)" restic-manager vault restore vaults h1/ <snapshot-id> /srv/restore`);
    const again = await req('PUT', `/api/hosts/${hostId}/vault`, { storage: { type: 's3', endpoint: 'https://s3.example.com', bucket: 'vaults', prefix: 'h2/' }, age_recipient: RECIPIENT });
    expect(again.body.storage).toMatchObject({ prefix: 'h2/', keys_set: true });
  });

  it('sends the target with the keys in command.run of a vault job only', async () => {
    const run = await req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'vault_backup', args: { paths: ['/etc'] } });
    expect(run.status, run.text).toBe(202);
    const cmd = (await agent.next('command.run')) as { kind: string; vault?: { storage: Record<string, unknown>; age_recipient: string }; credential?: unknown };
    expect(cmd.kind).toBe('vault_backup');
    expect(cmd.vault?.storage).toEqual({ type: 's3', endpoint: 'https://s3.example.com', bucket: 'vaults', prefix: 'h2/', region: 'us-east-1', access_key_id: KEY_ID, secret_access_key: SECRET });
    expect(cmd.vault?.age_recipient).toBe(RECIPIENT);
    expect(cmd.credential).toBeUndefined();
    const jobId = run.body.job.id as string;
    agent.started(jobId, 'vault_backup');
    agent.send({ type: 'vault.snapshots.report', job_id: jobId, snapshots: [{ id: '20261201T030000Z-1a2b3c4d', time: '2026-12-01T03:00:00.000Z', metadata_bytes: 812 }] });
    agent.finished(jobId, 'succeeded', { stats: { snapshot_id: '20261201T030000Z-1a2b3c4d' } });
    await expect.poll(async () => (await req('GET', `/api/hosts/${hostId}/vault`)).body.snapshots.map((s: { id: string }) => s.id)).toEqual(['20261201T030000Z-1a2b3c4d']);
    const same = await req('PUT', `/api/hosts/${hostId}/vault`, { storage: { type: 's3', endpoint: 'https://s3.example.com', bucket: 'vaults', prefix: 'h2/' }, age_recipient: RECIPIENT });
    expect(same.body.snapshots).toHaveLength(1); // same location: the list stays
    const moved = await req('PUT', `/api/hosts/${hostId}/vault`, { storage: { type: 's3', endpoint: 'https://s3.example.com', bucket: 'vaults', prefix: 'h3/' }, age_recipient: RECIPIENT });
    expect(moved.body.snapshots).toEqual([]); // another prefix: the old list is not this vault's
    const plain = await req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'snapshots', args: {} });
    expect(plain.status).toBe(202);
    expect((await agent.next('command.run')) as object).not.toHaveProperty('vault');
  });

  it('refuses vault jobs for an agent that did not announce vault, and for a host without a target', async () => {
    await req('PUT', `/api/hosts/${oldHostId}/vault`, { storage: { type: 'local', path: '/srv/v' }, age_recipient: RECIPIENT });
    const r = await req('POST', `/api/hosts/${oldHostId}/jobs`, { kind: 'vault_backup', args: { paths: ['/etc'] } });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/cannot run vault jobs .*: upgrade it, or see why with 'restic-manager-agent version' on the host$/);
    await req('DELETE', `/api/hosts/${oldHostId}/vault`);
    const none = await req('POST', `/api/hosts/${oldHostId}/jobs`, { kind: 'vault_check', args: {} });
    expect(none.status).toBe(409);
    expect(none.body.error.message).toMatch(/no vault target/);
  });

  it('audits set and clear with secrets_changed, never a value; no secret in responses, logs or the database', async () => {
    expect((await req('DELETE', `/api/hosts/${hostId}/vault`)).status).toBe(204);
    const audit = await req('GET', '/api/audit?limit=100');
    const sets = audit.body.items.filter((a: { action: string; target_id: string }) => a.action === 'host.vault.set' && a.target_id === hostId);
    expect(sets.map((a: { payload: { secrets_changed: boolean } }) => a.payload.secrets_changed)).toEqual([false, false, false, true]);
    expect(audit.body.items.some((a: { action: string }) => a.action === 'host.vault.clear')).toBe(true);
    const files = readdirSync(h.dataDir).map((f) => readFileSync(path.join(h.dataDir, f)));
    for (const secret of [SECRET, KEY_ID, PRIVATE]) {
      expect(seen.filter((t) => t.includes(secret))).toEqual([]);
      expect(h.logs()).not.toContain(secret);
      expect(files.filter((b) => b.includes(secret))).toEqual([]);
    }
  });

  it('fires vault schedules on the server clock with the target in command.run; schedule.set never carries them', async () => {
    await req('PUT', `/api/hosts/${hostId}/vault`, { storage: { type: 'local', path: '/srv/v2' }, age_recipient: RECIPIENT });
    const bad = await req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'vault_backup', cron_expr: '* * * * * *' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.paths).toBe('required');
    const created = await req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'vault_backup', cron_expr: '* * * * * *', paths: ['/etc'] });
    expect(created.status, created.text).toBe(201);
    const set = (await agent.next('schedule.set')) as { schedules: { id: string }[] };
    expect(set.schedules.map((x) => x.id)).not.toContain(created.body.id);
    const cmd = (await agent.next('command.run', 10_000)) as { kind: string; args: Record<string, unknown>; vault?: { storage: Record<string, unknown> } };
    expect(cmd).toMatchObject({ kind: 'vault_backup', args: { paths: ['/etc'], excludes: [] }, vault: { storage: { type: 'local', path: '/srv/v2' } } });
    await req('DELETE', `/api/schedules/${created.body.id as string}`);
  });
});
