import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X25519Identity } from '@restic-manager/vault';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { eventually, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { argvSampler } from './robustness/procs.js';
import { filesContaining } from './agent-harness.js';

/*
 * Vault drills (issue 16, docs/recoverability.md "Vault drills") through the real server, two
 * real agents and the real vault engine: host A backs up to a local vault directory holding only
 * the age recipient; host B is trusted for vault drills and holds the identity in a file of its
 * own. The identity never reaches the server, A, argv, logs, API responses or audit payloads.
 */

const missing = restoreStackTools;
if (missing.length) console.warn(`skipping vault drill e2e: missing ${missing.join(', ')}`);

/** The largest file under `dir` (the blob holding most of the random file's chunks). */
function largestFile(dir: string): string {
  let best = { p: '', size: -1 };
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.statSync(p).size > best.size) best = { p, size: fs.statSync(p).size };
    }
  };
  walk(dir);
  return best.p;
}

describe.skipIf(missing.length > 0)('vault drills e2e: a trusted host holds the identity, real agents, real vault engine', { timeout: 300_000 }, () => {
  let s: RestoreStack;
  let a: StackAgent;
  let b: StackAgent;
  let src: string;
  let big: string;
  let vaultDir: string;
  let identityFile: string;
  const id = X25519Identity.generate();
  const secretKey = id.toString();

  const drillReq = (hostId: string, body: Record<string, unknown> = {}) => s.api.req('POST', `/api/hosts/${hostId}/vault-drills`, body);
  /** Restarts B so its hello reports the identity file as it is now. */
  const restartB = async (): Promise<void> => {
    await b.stop();
    await b.start();
  };
  const scratch = (): string[] => {
    const dir = path.join(b.stateDir, 'drills');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };

  beforeAll(async () => {
    s = await startRestoreStack(['vdrill-a', 'vdrill-b']);
    [a, b] = s.agents as [StackAgent, StackAgent];
    src = path.join(s.tmp.path, 'vdata');
    for (const d of ['docs', 'media']) fs.mkdirSync(path.join(src, d), { recursive: true });
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(src, 'docs', `note-${i}.txt`), `vault drill note ${i}\n`.repeat(200 + i));
    big = path.join(src, 'media', 'video.bin');
    fs.writeFileSync(big, randomBytes(3 * 1024 * 1024));
    vaultDir = path.join(s.tmp.path, 'vault-store');
    const put = await s.api.req('PUT', `/api/hosts/${a.hostId}/vault`, { storage: { type: 'local', path: vaultDir }, age_recipient: id.recipient.toString() });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const backup = await s.waitJob(await s.runJob(a.hostId, 'vault_backup', { paths: [path.join(src, 'docs'), path.join(src, 'media')] }), 120_000);
    expect(backup.status, JSON.stringify(backup)).toBe('succeeded');
    await eventually(async () => ((await s.api.req('GET', `/api/hosts/${a.hostId}/vault`)).body.snapshots?.length === 1 ? true : null), 20_000, 'the vault snapshot listed');
    // B's identity file, as age-keygen writes it; agent.yaml names it.
    identityFile = path.join(path.dirname(b.stateDir), 'vault-identity.txt');
    fs.writeFileSync(identityFile, `# created: 2026-01-01T00:00:00Z\n# public key: ${id.recipient.toString()}\n${secretKey}\n`, { mode: 0o600 });
    fs.appendFileSync(path.join(b.stateDir, 'agent.yaml'), `vault_identity_file: ${JSON.stringify(identityFile)}\n`);
  }, 180_000);
  afterAll(async () => s?.close());

  it('without a trusted host the drill is refused with the reason, and the dashboard keeps vault restores unproven', async () => {
    const r = await drillReq(a.hostId);
    expect(r.status, JSON.stringify(r.body)).toBe(409);
    expect(r.body.error.message).toMatch(/vault restores of vdrill-a stay unproven: no host is trusted for vault drills/);
    const sum = (await s.api.req('GET', `/api/hosts/${a.hostId}/restore-drills`)).body;
    expect(sum.vault).toBe('unproven');
    expect(sum.vault_reason).toMatch(/no host is trusted for vault drills/);
  });

  it('refuses to drill on the backed-up host itself', async () => {
    const r = await drillReq(a.hostId, { drill_host_id: a.hostId });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.message).toMatch(/never runs on the backed-up host/);
    expect(r.body.error.fields.drill_host_id).toMatch(/holds only the age recipient/);
  });

  it('refuses an identity file of mode 0644 (the agent reports why; the drill is refused naming it)', async () => {
    fs.chmodSync(identityFile, 0o644);
    await restartB();
    const trust = await s.api.req('PUT', `/api/hosts/${b.hostId}/vault-drill-trust`, { trusted: true });
    expect(trust.status, JSON.stringify(trust.body)).toBe(200);
    expect(trust.body).toMatchObject({ trusted: true, identity_recipient: null });
    expect(trust.body.identity_error).toMatch(/has mode 0644: it must be 0600/);
    const r = await drillReq(a.hostId);
    expect(r.status, JSON.stringify(r.body)).toBe(409);
    expect(r.body.error.message).toMatch(/refuses its vault identity file: .*has mode 0644: it must be 0600/);
    expect(b.logs()).toMatch(/vault identity file is refused/);
  });

  it('a drill on the trusted host passes: a seeded sample restored and verified, recorded like a restic drill; the identity is nowhere else', async () => {
    fs.chmodSync(identityFile, 0o600);
    await restartB();
    const view = (await s.api.req('GET', `/api/hosts/${b.hostId}/vault-drill-trust`)).body;
    expect(view).toMatchObject({ trusted: true, identity_recipient: id.recipient.toString(), identity_error: null });
    const argv = argvSampler([secretKey], 20);
    const r = await drillReq(a.hostId, { seed: 'e2e', sample_files: 3 });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await s.waitJob(r.body.jobs[0].id as string, 120_000);
    argv.stop();
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(job.kind).toBe('vault_drill');
    expect(job.host_id).toBe(b.hostId);
    const st = job.stats as Record<string, number | string>;
    expect(st.snapshot_files).toBe(7);
    expect(st.files).toBeGreaterThanOrEqual(3);
    expect(st.bytes).toBeGreaterThanOrEqual(3 * 1024 * 1024); // the largest file is always sampled
    expect(st.throughput_bps).toBeGreaterThan(0);
    expect(st.rto_seconds).toBeGreaterThan(0);
    expect(scratch()).toEqual([]);
    const logs = (await s.api.req('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body;
    expect(JSON.stringify(logs)).toMatch(/verified \d+ files \(\d+ bytes\) chunk by chunk against the snapshot's content hashes/);

    const sum = await eventually(async () => {
      const x = await s.api.req('GET', `/api/hosts/${a.hostId}/restore-drills`);
      return x.body.vault === 'proven' ? x.body : null;
    }, 20_000, 'vault restores proven');
    expect(sum.last_success).toMatchObject({ job_id: job.id, host_id: a.hostId, drill_host_id: b.hostId, engine: 'vault', status: 'succeeded', files: st.files, bytes: st.bytes });
    // Reproducible: the same seed samples the same files.
    const again = await s.waitJob((await drillReq(a.hostId, { seed: 'e2e', sample_files: 3 })).body.jobs[0].id as string, 120_000);
    expect((again.stats as Record<string, unknown>).bytes).toBe(st.bytes);

    // The identity: never in argv, logs, API responses, audit payloads, the server's files or A's state.
    expect(argv.samples()).toBeGreaterThan(0);
    expect([...argv.leaks]).toEqual([]);
    const audit = await s.api.req('GET', '/api/audit?limit=500');
    expect(audit.body.items.find((x: { action: string }) => x.action === 'host.vault_drill_trust.set').payload).toMatchObject({ trusted: true });
    const responses = JSON.stringify([audit.body, logs, job, sum, view, (await s.api.req('GET', `/api/jobs/${again.id as string}/logs?limit=1000`)).body]);
    expect(responses).not.toContain(secretKey);
    expect(a.logs()).not.toContain(secretKey);
    expect(b.logs()).not.toContain(secretKey);
    expect(filesContaining(path.join(s.tmp.path, 'server'), secretKey)).toEqual([]);
    expect(filesContaining(a.stateDir, secretKey)).toEqual([]);
    expect(filesContaining(b.stateDir, secretKey)).toEqual([]);
  });

  it('a drill after one stored blob was corrupted on disk fails, and the restore_drill_failed alert names the file', async () => {
    const blob = largestFile(path.join(vaultDir, 'blobs'));
    const bytes = fs.readFileSync(blob);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    fs.writeFileSync(blob, bytes);
    const r = await drillReq(a.hostId, { seed: 'e2e', sample_files: 3 });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await s.waitJob(r.body.jobs[0].id as string, 120_000);
    expect(job.status, JSON.stringify(job)).toBe('failed');
    expect(job.error).toContain(`file ${big}`);
    expect(scratch()).toEqual([]);
    const alert = await eventually(async () => {
      const x = await s.api.req('GET', `/api/alerts?kind=restore_drill_failed&host_id=${a.hostId}&open=true`);
      return x.body.items[0] ?? null;
    }, 20_000, 'the restore_drill_failed alert');
    expect(alert.message).toContain(`file ${big}`);
    expect(alert.message).toContain('on host vdrill-b');
    const sum = (await s.api.req('GET', `/api/hosts/${a.hostId}/restore-drills`)).body;
    expect(sum.vault).toBe('unproven');
    expect(sum.vault_reason).toMatch(/the last vault drill failed: .*video\.bin/);
  });
});
