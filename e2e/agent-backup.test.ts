import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus, requireTool } from '@restic-manager/testkit';
import { REPO_PASSWORD, REST_PASSWORD, allCmdlines, eventually, runAgentCli, startStack, subscribe } from './agent-harness.js';
import type { Stack } from './agent-harness.js';

const tools = ['restic', 'rclone', 'htpasswd'].map((t) => [t, requireTool(t)] as const);
const missing = tools.filter(([, r]) => !r.ok).map(([t]) => t);
if (missing.length) console.warn(`skipping agent e2e: missing ${missing.join(', ')}`);

describe.skipIf(missing.length > 0)('agent end to end: enroll, run-now backup, live log, snapshots, secrets', () => {
  let s: Stack;
  let src: string;
  beforeAll(async () => {
    s = await startStack();
    src = path.join(s.tmp.path, 'src');
    await makeCorpus(src, { files: 40, totalBytes: 4 * 1024 * 1024, seed: 'e2e-backup' });
  });
  afterAll(async () => s?.close());

  it('run-now backup streams its log to a browser subscriber and the snapshot shows up in the API', async () => {
    // Slow the upload a little so the subscriber attaches while the job runs.
    const jobId = await s.runJob('backup', { paths: [src], tags: ['e2e'], limit_upload_kbps: 2048 });
    const sub = subscribe(s, jobId);
    await sub.opened;
    let cmdlines = '';
    const sampler = setInterval(() => (cmdlines += allCmdlines()), 100);
    const job = await s.waitJob(jobId);
    clearInterval(sampler);
    expect(job.status).toBe('succeeded');
    await Promise.race([sub.closed, new Promise((r) => setTimeout(r, 5000))]);
    expect(sub.frames.map((f) => f.type)).toContain('job.finished');
    const streamed = sub.frames.filter((f) => f.type === 'log.stream');
    expect(streamed.length).toBeGreaterThan(0);
    const logs = await s.logs(jobId);
    expect(logs.map((l) => l.seq)).toEqual([...logs.map((l) => l.seq)].sort((a, b) => a - b));
    expect(logs.some((l) => l.payload.includes('summary'))).toBe(true);

    const snaps = await eventually(async () => {
      const r = await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots`);
      return r.body.total >= 1 ? r.body.items : null;
    }, 20_000, 'snapshot in the API');
    expect(snaps[0]).toMatchObject({ paths: [src], tags: ['e2e'] });

    expect(cmdlines).toContain('restic');
    for (const secret of [REPO_PASSWORD, REST_PASSWORD]) {
      expect(cmdlines).not.toContain(secret);
      expect(s.agentLogs()).not.toContain(secret);
      expect(JSON.stringify(logs)).not.toContain(secret);
      expect(JSON.stringify(sub.frames)).not.toContain(secret);
    }
    const stateFiles = fs.readdirSync(s.agentDir).filter((f) => fs.statSync(path.join(s.agentDir, f)).isFile());
    for (const f of stateFiles) expect(fs.readFileSync(path.join(s.agentDir, f), 'utf8'), f).not.toContain(REPO_PASSWORD);
  });

  it('health-check and dump-state work against the running agent', async () => {
    const h = await runAgentCli(['health-check', '--state-dir', s.agentDir]);
    expect(h.code, h.err).toBe(0);
    expect(h.out).toContain('healthy: connected to the server');
    const d = await runAgentCli(['dump-state', '--state-dir', s.agentDir]);
    expect(d.code, d.err).toBe(0);
    const state = JSON.parse(d.out) as { config: { host_id: string }; secrets: { password: string; rest_username: string } };
    expect(state.config.host_id).toBe(s.hostId);
    expect(state.secrets).toMatchObject({ password: '[redacted]', rest_username: 'h1' });
    expect(d.out).not.toContain(REPO_PASSWORD);
    expect(d.out).not.toContain(REST_PASSWORD);
  });

  it('a failing pre_hook aborts the backup; the post_hook sees RM_JOB_STATUS', async () => {
    const before = (await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots`)).body.total as number;
    const id = await s.runJob('backup', { paths: [src], pre_hook: 'echo dumping; exit 4', post_hook: 'echo "post saw $RM_JOB_STATUS"' });
    const job = await s.waitJob(id);
    expect(job).toMatchObject({ status: 'failed', error_kind: 'hook_failed' });
    const logs = (await s.logs(id)).map((l) => l.payload);
    expect(logs).toEqual(expect.arrayContaining(['pre_hook: dumping', 'post_hook: post saw failed']));
    expect(logs.some((l) => l.includes('summary'))).toBe(false);
    expect((await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots`)).body.total).toBe(before);

    const ok = await s.runJob('backup', { paths: [src], post_hook: 'echo "post saw $RM_JOB_STATUS"' });
    expect((await s.waitJob(ok)).status).toBe('succeeded');
    expect((await s.logs(ok)).map((l) => l.payload)).toContain('post_hook: post saw succeeded');
  });

  const isRoot = process.getuid?.() === 0;
  if (!isRoot) console.warn('skipping run_as e2e: needs root to create a user and switch to it');
  it.skipIf(!isRoot)('run_as runs the hook as the given user', async () => {
    const user = 'rmhook';
    const { spawnSync } = await import('node:child_process');
    const created = spawnSync('id', [user]).status !== 0;
    if (created) {
      const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    try {
      const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim();
      const id = await s.runJob('backup', { paths: [src], run_as: user, pre_hook: 'echo "uid=$(id -u) user=$(id -un)"', post_hook: 'id -u' });
      expect((await s.waitJob(id)).status).toBe('succeeded');
      const logs = (await s.logs(id)).map((l) => l.payload);
      expect(logs).toContain(`pre_hook: uid=${uid} user=${user}`);
      expect(logs).toContain(`post_hook: ${uid}`);
    } finally {
      if (created) spawnSync('userdel', [user]);
    }
  });
});
