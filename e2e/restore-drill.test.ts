import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { eventually, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { keyCount } from './restore-helpers.js';

const missing = restoreStackTools;
if (missing.length) console.warn(`skipping restore drill e2e: missing ${missing.join(', ')}`);

/** Scratch directories of drills left in the agents' state directories (there must be none after a drill). */
const scratchDirs = (...agents: StackAgent[]): string[] => agents.flatMap((x) => {
  const dir = path.join(x.stateDir, 'drills');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((n) => path.join(dir, n)) : [];
});

describe.skipIf(missing.length > 0)('restore drills e2e: real server, two real agents, real restic', () => {
  let s: RestoreStack;
  let a: StackAgent;
  let b: StackAgent;
  let src: string;
  let big: string;

  const drill = async (hostId: string, body: Record<string, unknown>) => {
    const r = await s.api.req('POST', `/api/hosts/${hostId}/restore-drills`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.jobs).toHaveLength(1);
    return s.waitJob(r.body.jobs[0].id as string, 90_000);
  };

  beforeAll(async () => {
    s = await startRestoreStack(['drill-a', 'drill-b']);
    [a, b] = s.agents as [StackAgent, StackAgent];
    src = path.join(s.tmp.path, 'data');
    for (const d of ['home/alice', 'etc/app', 'srv/www']) fs.mkdirSync(path.join(src, d), { recursive: true });
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(src, 'home/alice', `note-${i}.txt`), `note ${i}\n`.repeat(50 + i));
    fs.writeFileSync(path.join(src, 'etc/app/app.conf'), 'key=value\n');
    fs.writeFileSync(path.join(src, 'etc/app/we[ir]d*.conf'), 'glob characters\n');
    big = path.join(src, 'srv/www/video.bin');
    fs.writeFileSync(big, randomBytes(3 * 1024 * 1024));
    const backup = await s.waitJob(await s.runJob(a.hostId, 'backup', { paths: [path.join(src, 'home'), path.join(src, 'etc'), path.join(src, 'srv')] }));
    expect(backup.status, JSON.stringify(backup)).toBe('succeeded');
  }, 120_000);
  afterAll(async () => s?.close());

  it('a drill on the host itself restores a seeded sample, verifies it against the snapshot and the unchanged live files, and records the last proven restore', async () => {
    const job = await drill(a.hostId, { sample_files: 5, seed: 'e2e' });
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    const st = job.stats as Record<string, number | string>;
    // 5 by score + the largest file + one per top-level path (some may coincide).
    expect(st.files).toBeGreaterThanOrEqual(5);
    expect(st.files).toBeLessThanOrEqual(9);
    expect(st.bytes).toBeGreaterThanOrEqual(3 * 1024 * 1024); // the largest file is always in the sample
    expect(st.snapshot_files).toBe(33);
    expect(st.live_compared).toBe(st.files);
    expect(st.throughput_bps).toBeGreaterThan(0);
    expect(st.rto_seconds).toBeGreaterThan(0);
    expect(scratchDirs(a, b)).toEqual([]);
    // The sample went into the agent's private drills directory (on disk, not a RAM-backed /tmp), now gone.
    expect(a.cmdlines().some((c) => c.includes('restore') && c.includes(`--target ${path.join(a.stateDir, 'drills', `drill-${job.id as string}`)}`))).toBe(true);
    const logs = (await s.api.req('GET', `/api/jobs/${job.id as string}/logs?limit=1000`)).body.items as { payload: string }[];
    const text = logs.map((l) => l.payload).join('\n');
    expect(text).toMatch(/drilling snapshot [0-9a-f]{8} .*files, .* bytes \(seed e2e\)/);
    expect(text).toMatch(/finished verifying \d+ files in /); // restic restore --verify re-read every restored file

    const sum = await eventually(async () => {
      const r = await s.api.req('GET', `/api/hosts/${a.hostId}/restore-drills`);
      return r.body.last_success ? r.body : null;
    }, 20_000, 'the last proven restore');
    expect(sum.last_success).toMatchObject({ job_id: job.id, host_id: a.hostId, drill_host_id: a.hostId, status: 'succeeded', files: st.files, engine: 'restic' });
    expect(sum.vault).toBe('none');

    // Reproducible: the same seed drills the same files.
    const again = await drill(a.hostId, { sample_files: 5, seed: 'e2e' });
    expect((again.stats as Record<string, unknown>).bytes).toBe(st.bytes);
  }, 180_000);

  it('a drill on a second host restores through a temporary key that is removed afterwards', async () => {
    const keysBefore = keyCount(a);
    const job = await drill(a.hostId, { drill_host_id: b.hostId, sample_files: 3 });
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    expect(job.host_id).toBe(b.hostId);
    expect((job.stats as Record<string, unknown>).live_compared).toBe(0);
    expect(scratchDirs(a, b)).toEqual([]);
    expect(b.cmdlines().some((c) => c.includes('restore') && c.includes('--verify'))).toBe(true);
    await eventually(async () => ((await s.api.req('GET', `/api/audit?action=restore.credential.revoke&target_id=${job.id as string}`)).body.total as number) > 0, 30_000, 'the revoke audit row');
    expect(keyCount(a)).toBe(keysBefore);
    // The temporary key is the server's own: the ledger's key watch raised nothing.
    expect((await s.api.req('GET', `/api/alerts?kind=repository_keys_changed&host_id=${a.hostId}&open=true`)).body.items).toEqual([]);
    const sum = await eventually(async () => {
      const r = await s.api.req('GET', `/api/hosts/${a.hostId}/restore-drills`);
      return r.body.last_success?.job_id === job.id ? r.body : null;
    }, 20_000, 'the cross-host drill as the last proven restore');
    expect(sum.last_success.drill_host_id).toBe(b.hostId);
    // The generic run-now does not start an unrecorded drill.
    const direct = await s.api.req('POST', `/api/hosts/${a.hostId}/jobs`, { kind: 'restore_drill', args: {} });
    expect(direct.status).toBe(400);
    expect(direct.body.error.message).toMatch(/kind/);
  }, 180_000);

  it('a drill on the host itself fails when a live file changed although its size and mtime did not (silent corruption at the source)', async () => {
    // Both files under etc/ get new bytes of the same size and their old mtime to the nanosecond
    // (touch -r from a timestamp-preserving copy; fs.utimes would round it); one of them is always sampled.
    const files = ['etc/app/app.conf', 'etc/app/we[ir]d*.conf'].map((f) => path.join(src, f));
    const saved = files.map((f, i) => {
      const ref = path.join(s.tmp.path, `mtime-ref-${i}`);
      execFileSync('cp', ['--preserve=timestamps', f, ref]);
      return { f, ref, body: fs.readFileSync(f) };
    });
    const keepTime = (): void => saved.forEach(({ f, ref }) => execFileSync('touch', ['-r', ref, f]));
    for (const { f, body } of saved) fs.writeFileSync(f, Buffer.from(body.toString('latin1').toUpperCase(), 'latin1'));
    keepTime();
    try {
      const job = await drill(a.hostId, { sample_files: 2, seed: 'e2e' });
      expect(job.status, JSON.stringify(job)).toBe('failed');
      const short = (job.stats as { snapshot_id: string }).snapshot_id.slice(0, 8);
      expect(files.map((f) => `restore drill of snapshot ${short} failed: live file ${f} differs from the snapshot although its size and mtime are unchanged (silent corruption at the source)`)).toContain(job.error);
      // A drill elsewhere restores from the snapshot only: it passes.
      const other = await drill(a.hostId, { drill_host_id: b.hostId, sample_files: 2, seed: 'e2e' });
      expect(other.status, JSON.stringify(other)).toBe('succeeded');
    } finally {
      for (const { f, body } of saved) fs.writeFileSync(f, body);
      keepTime();
    }
  }, 180_000);

  it('a drill fails when a pack file was corrupted on disk, and restore_drill_failed names the file', async () => {
    const packs: { file: string; size: number }[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else packs.push({ file: p, size: fs.statSync(p).size });
      }
    };
    walk(path.join(a.repoDir, 'data'));
    const largest = packs.sort((x, y) => y.size - x.size)[0]!; // holds the 3 MiB file's data
    fs.chmodSync(largest.file, 0o600);
    const fd = fs.openSync(largest.file, 'r+');
    fs.writeSync(fd, randomBytes(4096), 0, 4096, Math.floor(largest.size / 2));
    fs.closeSync(fd);

    const job = await drill(a.hostId, { sample_files: 5, seed: 'e2e' });
    expect(job.status, JSON.stringify(job)).toBe('failed');
    expect(job.error).toContain(big);
    expect(scratchDirs(a, b)).toEqual([]);
    const alert = await eventually(async () => {
      const r = await s.api.req('GET', `/api/alerts?kind=restore_drill_failed&host_id=${a.hostId}&open=true`);
      return r.body.items?.[0] ?? null;
    }, 20_000, 'the restore_drill_failed alert');
    expect(alert.severity).toBe('critical');
    expect(alert.message).toContain(big);
    expect(alert.message).toMatch(/restore drill job .* of drill-a \(on the host itself\) failed/);
    const sum = (await s.api.req('GET', `/api/hosts/${a.hostId}/restore-drills`)).body;
    expect(sum.recent[0]).toMatchObject({ job_id: job.id, status: 'failed' });
    expect(sum.last_success.status).toBe('succeeded'); // the earlier proof stays the last proven restore
  }, 180_000);
});
