import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '@restic-manager/testkit';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { eventually, recordTemporaryPasswords, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { allBytes, keyCount, tree } from './restore-helpers.js';

/*
 * Cross-host restore between REST repositories as the product deploys them: `rclone serve restic
 * --append-only --private-repos` with one REST user per host, plus a maintenance endpoint (no
 * --append-only) on the same data directory. Host B can only reach host A's repository with A's
 * REST user, and neither REST server has a per-user read-only mode: A's REST login is a permanent
 * secret, so the restore is refused unless an admin confirms a one-off (A is then marked for
 * rotation). A's temporary key can only be deleted through the maintenance endpoint, so its
 * removal uses A's maintenance credential.
 */

const execFileP = promisify(execFile);
const missing = [...restoreStackTools, ...['rclone', 'htpasswd'].filter((t) => !requireTool(t).ok)];
if (missing.length) console.warn(`skipping REST restore e2e: missing ${missing.join(', ')}`);

describe.skipIf(missing.length > 0)('cross-host restore between append-only REST repositories', () => {
  let s: RestoreStack;
  let a: StackAgent;
  let b: StackAgent;
  let src: string;
  const tempPasswords: string[] = [];

  beforeAll(async () => {
    s = await startRestoreStack(['rest-a', 'rest-b'], { rest: true });
    [a, b] = s.agents as [StackAgent, StackAgent];
    recordTemporaryPasswords(s, tempPasswords);
    src = path.join(s.tmp.path, 'srv');
    fs.mkdirSync(path.join(src, 'www'), { recursive: true });
    fs.writeFileSync(path.join(src, 'www', 'index.html'), '<p>served from A</p>\n'.repeat(100));
    fs.writeFileSync(path.join(src, 'www', 'private.pem'), 'not really a key\n', { mode: 0o600 });
    fs.chmodSync(path.join(src, 'www', 'private.pem'), 0o600);
    const backup = await s.waitJob(await s.runJob(a.hostId, 'backup', { paths: [src] }));
    expect(backup.status, JSON.stringify(backup)).toBe('succeeded');
    await eventually(async () => (await s.api.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.total > 0, 20_000, 'snapshots of rest-a');
  }, 120_000);
  afterAll(async () => s?.close());

  it('premise: the append-only endpoint accepts a new key but refuses to delete one; the maintenance endpoint deletes it', async () => {
    const restic = requireTool('restic');
    if (!restic.ok) throw new Error(restic.reason);
    const keysDir = path.join(a.repoDir, 'keys');
    const before = new Set(fs.readdirSync(keysDir));
    const pwFile = path.join(s.tmp.path, 'premise-pw');
    fs.writeFileSync(pwFile, 'premise-key-password-123\n', { mode: 0o600 });
    const routine = s.rest!.routine.repoUrl('rest-a').replace('rest:http://', `rest:http://rest-a:${a.restPassword!}@`);
    // Async: the server runs in this process, so a blocking spawnSync would starve it.
    await execFileP(restic.path, ['-r', routine, 'key', 'add', '--new-password-file', pwFile], { env: { ...process.env, RESTIC_PASSWORD: a.repoPassword } });
    const added = fs.readdirSync(keysDir).filter((k) => !before.has(k));
    expect(added).toHaveLength(1);
    const del = (base: string, pw: string) => fetch(`${base}/rest-a/keys/${added[0]!}`, { method: 'DELETE', headers: { authorization: `Basic ${Buffer.from(`rest-a:${pw}`).toString('base64')}` } });
    expect((await del(s.rest!.routine.url, a.restPassword!)).status).toBeGreaterThanOrEqual(400);
    expect(fs.existsSync(path.join(keysDir, added[0]!))).toBe(true);
    expect((await del(s.rest!.maint.url, a.maintPassword!)).status).toBe(200);
    expect(fs.existsSync(path.join(keysDir, added[0]!))).toBe(false);
  });

  it('B restores A\'s snapshot only as an admin one-off (A\'s REST login is permanent), with a temporary key that the maintenance endpoint removes', async () => {
    const snap = (await s.api.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.items[0].id as string;
    const keysBefore = keyCount(a);
    const target = path.join(s.tmp.path, 'on-b');
    const body = { source_host_id: a.hostId, snapshot_id: snap, target, include: [path.join(src, 'www')] };
    const refused = await s.api.req('POST', `/api/hosts/${b.hostId}/restore`, body);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.error.message).toMatch(/host rest-a's permanent REST login/);
    expect(tempPasswords).toEqual([]);
    expect(keyCount(a)).toBe(keysBefore);
    const r = await s.api.req('POST', `/api/hosts/${b.hostId}/restore`, { ...body, share_source_credential: true });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await s.waitJob(r.body.job.id);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(tree(path.join(target, src, 'www'))).toEqual(tree(path.join(src, 'www')));
    await eventually(async () => ((await s.api.req('GET', `/api/audit?action=restore.credential.revoke&target_id=${r.body.job.id}`)).body.total as number) > 0, 30_000, 'the revoke audit row');
    expect(keyCount(a)).toBe(keysBefore);
    const use = (await s.api.req('GET', `/api/audit?action=repo.maintenance_credential.use&target_id=${r.body.job.id}`)).body.items;
    expect(use[0]?.payload).toMatchObject({ purpose: 'remove the temporary restore key', rest_username: 'rest-a' });
    expect(tempPasswords).toHaveLength(1);
    expect((await s.api.req('GET', `/api/hosts/${a.hostId}`)).body.credential_rotation).toMatchObject({ reason: expect.stringMatching(/REST login went to host rest-b/) });
    const secrets = [a.repoPassword, a.restPassword!, a.maintPassword!, tempPasswords[0]!];
    const logs = (await s.api.req('GET', `/api/jobs/${r.body.job.id}/logs`)).body;
    const audit = (await s.api.req('GET', `/api/audit?target_id=${r.body.job.id}`)).body;
    for (const [where, text] of [['B state', allBytes(b.stateDir)], ['B cmdlines', b.cmdlines().join('\n')], ['B log', b.logs()], ['A log', a.logs()], ['job log', JSON.stringify(logs)], ['audit', JSON.stringify(audit)]] as const) {
      for (const secret of secrets) expect(text.includes(secret), `${where} contains a secret`).toBe(false);
    }
  }, 120_000);
});
