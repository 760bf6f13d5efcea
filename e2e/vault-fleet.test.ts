import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, listSnapshots, LocalStorage, X25519Identity } from '@restic-manager/vault';
import { diffTrees, hashTree, processes } from '@restic-manager/testkit';
import { ROOT, filesContaining } from './agent-harness.js';
import type { LocalStack } from './local-stack.js';
import { eventually, localStackTools, startLocalStack } from './local-stack.js';

/*
 * Vault jobs from the server through the real agent (docs/vault.md "Fleet"): the server holds
 * the vault target with the age RECIPIENT only; the agent backs up into a local directory; the
 * test side plays the trusted machine and restores with the private key through the CLI.
 */

const CLI = path.join(ROOT, 'packages/cli/dist/main.js');
const S3_SECRET = 'vault-e2e-s3-secret-key-9f31c07a5d';
const S3_KEY_ID = 'vault-e2e-access-key-id-77';

if (localStackTools.length) console.warn(`skipping vault fleet e2e: missing ${localStackTools.join(', ')}`);

describe.skipIf(localStackTools.length > 0)('vault jobs through the real server and agent', { timeout: 300_000 }, () => {
  let s: LocalStack;
  let src: string;
  let vaultDir: string;
  const id = X25519Identity.generate();
  const secretKey = id.toString();
  const vaultUrl = (): string => `/api/hosts/${s.hostId}/vault`;

  beforeAll(async () => {
    s = await startLocalStack();
    src = path.join(s.tmp.path, 'src');
    vaultDir = path.join(s.tmp.path, 'vault-store');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.txt'), 'vault fleet\n'.repeat(5000));
    fs.writeFileSync(path.join(src, 'sub', 'random.bin'), randomBytes(3 * 1024 * 1024));
    fs.symlinkSync('a.txt', path.join(src, 'link'));
  }, 120_000);
  afterAll(async () => s?.close());

  it('refuses a pasted private key with a clear message and stores nothing', async () => {
    const r = await s.api.req('PUT', vaultUrl(), { storage: { type: 'local', path: vaultDir }, age_recipient: secretKey });
    expect(r.status).toBe(400);
    expect(r.body.error.fields.age_recipient).toMatch(/PRIVATE key.*not stored.*age1/s);
    expect(JSON.stringify(r.body)).not.toContain(secretKey);
    // a recipient with its last (checksum) character changed: never the same character again
    const good = id.recipient.toString();
    const bad = await s.api.req('PUT', vaultUrl(), { storage: { type: 'local', path: vaultDir }, age_recipient: `${good.slice(0, -1)}${good.endsWith('q') ? 'p' : 'q'}` });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.age_recipient).toMatch(/age1/);
    expect((await s.api.req('GET', vaultUrl())).status).toBe(404);
    expect(filesContaining(path.join(s.tmp.path, 'server'), secretKey)).toEqual([]);
  });

  it('the Settings form refuses a pasted private key too (same validation as the API)', async () => {
    const r = await fetch(`${s.server.url}/hosts/${s.hostId}/vault`, {
      method: 'POST',
      headers: { cookie: `rm_session=${s.api.cookie}`, 'x-csrf-token': s.api.csrf, 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ age_recipient: secretKey, 'storage.type': 'local', 'storage.path': vaultDir }).toString(),
    });
    const text = await r.text();
    expect(r.status).toBe(400);
    expect(text).toMatch(/PRIVATE key/);
    expect(text).not.toContain(secretKey);
    expect((await s.api.req('GET', vaultUrl())).status).toBe(404);
  });

  it('refuses a vault job while the host has no vault target', async () => {
    const r = await s.api.req('POST', `/api/hosts/${s.hostId}/jobs`, { kind: 'vault_backup', args: { paths: [src] } });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/no vault target/);
  });

  it('delivers S3 keys for one job only: sealed in the database, absent from API, audit, agent state and argv', async () => {
    const put = await s.api.req('PUT', vaultUrl(), {
      storage: { type: 's3', endpoint: 'https://127.0.0.1:9', bucket: 'nowhere', prefix: 'h1/', access_key_id: S3_KEY_ID, secret_access_key: S3_SECRET },
      age_recipient: id.recipient.toString(),
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.storage).toMatchObject({ type: 's3', bucket: 'nowhere', prefix: 'h1/', keys_set: true });
    expect(put.body.restore_command).toContain('restic-manager vault restore nowhere h1/');
    expect(put.body.restore_command).not.toContain(S3_SECRET);
    const job = await s.waitJob(await s.runJob('vault_snapshots'), 90_000);
    expect(job.status).toBe('failed'); // nothing listens there; the agent had the keys in memory
    const audit = await s.api.req('GET', '/api/audit?limit=200');
    const vaultAudit = audit.body.items.filter((a: { action: string }) => a.action === 'host.vault.set');
    expect(vaultAudit[0].payload).toMatchObject({ secrets_changed: true, storage_type: 's3' });
    const pid = s.agentPid();
    const cmdline = pid ? fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
    for (const secret of [S3_SECRET, secretKey]) {
      expect(JSON.stringify(audit.body)).not.toContain(secret);
      expect(JSON.stringify((await s.api.req('GET', vaultUrl())).body)).not.toContain(secret);
      expect(JSON.stringify((await s.api.req('GET', `/api/jobs/${job.id}/logs`)).body)).not.toContain(secret);
      expect(filesContaining(path.join(s.tmp.path, 'server'), secret)).toEqual([]);
      expect(filesContaining(s.agentStateDir, secret)).toEqual([]);
      expect(cmdline).not.toContain(secret);
      expect(s.agentLogs()).not.toContain(secret);
    }
  });

  it('runs a vault backup: progress and log arrive, the snapshot is listed, the trusted machine restores it byte for byte', async () => {
    const put = await s.api.req('PUT', vaultUrl(), { storage: { type: 'local', path: vaultDir }, age_recipient: id.recipient.toString() });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.storage).toEqual({ type: 'local', path: vaultDir });
    const jobId = await s.runJob('vault_backup', { paths: [src] });
    const job = await s.waitJob(jobId, 120_000);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(job.kind).toBe('vault_backup');
    expect(job.stats).toMatchObject({ files: 2, error_count: 0 });
    expect(job.progress).toMatchObject({ files_done: expect.any(Number), total_bytes: expect.any(Number) });
    const logs = (await s.api.req('GET', `/api/jobs/${jobId}/logs`)).body.items.map((l: { payload: string }) => l.payload).join('\n');
    expect(logs).toContain(`recipient ${id.recipient.toString()}`);
    expect(logs).toMatch(/snapshot \S+ committed/);
    // The host's vault projection (decision server-0008).
    expect((await s.api.req('GET', `/api/hosts/${s.hostId}`)).body).toMatchObject({ last_vault_backup_at: job.finished_at, last_vault_backup_status: 'succeeded' });

    const snapId = String(job.stats.snapshot_id);
    const view = await eventually(async () => {
      const v = await s.api.req('GET', vaultUrl());
      return v.body.snapshots?.length === 1 ? v.body : null;
    }, 20_000, 'the vault snapshot in the API');
    expect(view.snapshots[0].id).toBe(snapId);
    expect(view.restore_command).toBe(`VAULTIK_PRIVATE_KEY="$(grep AGE-SECRET-KEY vault-key.txt)" restic-manager vault restore ${vaultDir} '' <snapshot-id> /srv/restore`);

    // The host page shows the vault, its snapshot labelled "vault" and the exact restore command.
    const page = await s.api.req<string>('GET', `/hosts/${s.hostId}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`data-vault-snapshot-id="${snapId}"`);
    expect(page.body).toContain('<span id="host-last-vault-backup">last vault backup');
    expect(page.body).toMatch(/<span class="badge info plain"[^>]*>vault<\/span>/);
    expect(page.body).toContain(`restic-manager vault restore ${vaultDir} &#39;&#39; ${snapId} /srv/restore`);
    expect(page.body).toContain(id.recipient.toString());
    const settings = await s.api.req<string>('GET', `/hosts/${s.hostId}/settings`);
    expect(settings.body).toContain('id="vault-settings"');
    for (const secret of [S3_SECRET, secretKey]) expect(page.body + settings.body).not.toContain(secret);

    const jobPage = await s.api.req<string>('GET', `/jobs/${jobId}`);
    expect(jobPage.status).toBe(200);
    expect(jobPage.body).toContain('vault_backup');

    // The trusted machine: the private key never left the test process.
    const target = path.join(s.tmp.path, 'restored');
    const r = spawnSync(process.execPath, [CLI, 'vault', 'restore', vaultDir, '', snapId, target], { encoding: 'utf8', env: { ...process.env, VAULTIK_PRIVATE_KEY: secretKey }, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(diffTrees(await hashTree(src), await hashTree(path.join(target, src)))).toEqual([]);
    expect(filesContaining(path.join(s.tmp.path, 'server'), secretKey)).toEqual([]);
    expect(filesContaining(s.agentStateDir, secretKey)).toEqual([]);
  });

  it('cancels a running vault backup: job cancelled, no snapshot committed, the vault still checks clean', async () => {
    const big = path.join(s.tmp.path, 'big');
    fs.mkdirSync(big);
    for (let i = 0; i < 48; i++) fs.writeFileSync(path.join(big, `f${i}.bin`), randomBytes(4 * 1024 * 1024));
    const storage = new LocalStorage(vaultDir);
    const before = (await listSnapshots(storage, 'index/')).filter((x) => x.committed).length;
    const jobId = await s.runJob('vault_backup', { paths: [big] });
    // The vault job's own process is held (SIGSTOP) as soon as it exists, so the backup cannot
    // finish before the cancel however fast the machine (192 MiB took 2.9 s on a CI run).
    const child = await vaultChildOf(s.agentPid()!, 60_000);
    process.kill(child, 'SIGSTOP');
    try {
      await eventually(async () => {
        const j = await s.api.req('GET', `/api/jobs/${jobId}`);
        if (['succeeded', 'failed'].includes(j.body.status)) throw new Error(`job ended before the cancel: ${JSON.stringify(j.body)}`);
        return j.body.status === 'running' ? j.body : null;
      }, 60_000, 'the backup to run');
      const c = await s.api.req('POST', `/api/jobs/${jobId}/cancel`);
      expect(c.status).toBeLessThan(300);
    } finally {
      try {
        process.kill(child, 'SIGCONT');
      } catch {
        // already killed by the agent's cancel
      }
    }
    const job = await s.waitJob(jobId, 120_000);
    expect(job.status, JSON.stringify(job)).toBe('cancelled');
    expect((await listSnapshots(storage, 'index/')).filter((x) => x.committed).length).toBe(before);
    const local = await check({ storage, indexPrefix: 'index/' });
    expect(local.problems).toEqual([]);
    const viaAgent = await s.waitJob(await s.runJob('vault_check', { read_data: true }), 120_000);
    expect(viaAgent.status, JSON.stringify(viaAgent)).toBe('succeeded');
    expect(viaAgent.stats).toMatchObject({ snapshots: before, problems: [] });
  });

  it('prunes by retention policy through the agent; the snapshot list follows', async () => {
    const second = await s.waitJob(await s.runJob('vault_backup', { paths: [src] }), 120_000);
    expect(second.status, JSON.stringify(second)).toBe('succeeded');
    expect(second.stats).toMatchObject({ files_read: 0 }); // unchanged files come from the agent's vault index
    const pruned = await s.waitJob(await s.runJob('vault_prune', { policy: { keep_last: 1 } }), 120_000);
    expect(pruned.status, JSON.stringify(pruned)).toBe('succeeded');
    expect(pruned.stats).toMatchObject({ snapshots_kept: 1, snapshots_removed: 1 });
    const ids = await eventually(async () => {
      const v = (await s.api.req('GET', vaultUrl())).body as { snapshots: { id: string }[] };
      return v.snapshots.length === 1 ? v.snapshots.map((x) => x.id) : null;
    }, 20_000, 'one vault snapshot left');
    expect(ids).toEqual([second.stats.snapshot_id]);
  });

  it('clears the target (admin, audited)', async () => {
    expect((await s.api.req('DELETE', vaultUrl())).status).toBe(204);
    expect((await s.api.req('GET', vaultUrl())).status).toBe(404);
    const audit = await s.api.req('GET', '/api/audit?limit=50');
    expect(audit.body.items.some((a: { action: string }) => a.action === 'host.vault.clear')).toBe(true);
  });
});

/** The pid of the agent's vault job process (a child of the agent running vault-child.js), polled every 5 ms. */
async function vaultChildOf(agentPid: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const child = processes().find((p) => p.ppid === agentPid && p.cmdline.includes('vault-child'));
    if (child) return child.pid;
    if (Date.now() > end) throw new Error(`no vault job process under agent ${agentPid} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
