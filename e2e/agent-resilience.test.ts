import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus, requireTool } from '@restic-manager/testkit';
import { eventually, startStack, waitMovingVia } from './agent-harness.js';
import type { Stack } from './agent-harness.js';

const missing = ['restic', 'rclone', 'htpasswd'].filter((t) => !requireTool(t).ok);
if (missing.length) console.warn(`skipping agent resilience e2e: missing ${missing.join(', ')}`);

/** Seqs of a job's stored log must be strictly increasing with no gaps from the first one. */
function expectCompleteOrdered(logs: { seq: number }[]): void {
  const seqs = logs.map((l) => l.seq);
  expect(seqs.length).toBeGreaterThan(0);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
}

describe.skipIf(missing.length > 0)('agent resilience end to end', () => {
  let s: Stack;
  let src: string;
  /** Fresh random data each time so a backup always has something slow to upload. */
  const freshData = (mb: number): void => {
    fs.writeFileSync(path.join(src, `fresh-${Date.now()}.bin`), randomBytes(mb * 1024 * 1024));
  };
  beforeAll(async () => {
    s = await startStack();
    src = path.join(s.tmp.path, 'src');
    await makeCorpus(src, { files: 20, totalBytes: 2 * 1024 * 1024, seed: 'e2e-resilience' });
  });
  afterAll(async () => s?.close());

  async function checkClean(): Promise<void> {
    // Remove only stale locks (restic's own rule), then a full check must pass.
    await s.waitJob(await s.runJob('unlock'));
    const check = await s.waitJob(await s.runJob('check'), undefined, 120_000);
    expect(check.status, JSON.stringify(check)).toBe('succeeded');
  }

  it('cancel mid-backup -> cancelled, repository checks clean', async () => {
    freshData(16);
    const id = await s.runJob('backup', { paths: [src], limit_upload_kbps: 1024 });
    await waitMovingVia(s.api, id);
    const c = await s.api.req('POST', `/api/jobs/${id}/cancel`);
    expect(c.status).toBe(202);
    const job = await s.waitJob(id, ['succeeded', 'failed', 'cancelled'], 30_000);
    expect(job.status).toBe('cancelled');
    await checkClean();
  });

  it('kill -9 of the agent mid-backup: the job ends failed with a reason; after restart the next backup succeeds and check is clean', async () => {
    freshData(16);
    const id = await s.runJob('backup', { paths: [src], limit_upload_kbps: 1024 });
    await waitMovingVia(s.api, id);
    await s.stopAgent('SIGKILL');
    await s.startAgent();
    const job = await s.waitJob(id, ['succeeded', 'failed', 'cancelled'], 30_000);
    expect(job.status).toBe('failed');
    expect(job.error_kind).toBe('agent_lost');
    expect(String(job.error)).toMatch(/agent/);
    const next = await s.waitJob(await s.runJob('backup', { paths: [src] }), undefined, 120_000);
    expect(next.status, JSON.stringify(next)).toBe('succeeded');
    await checkClean();
  });

  it('server stopped mid-job and restarted: the job finishes succeeded with its complete, ordered log', async () => {
    freshData(6);
    // Numbered hook lines around the backup make "complete and ordered" checkable line by line.
    const id = await s.runJob('backup', {
      paths: [src], limit_upload_kbps: 2048,
      pre_hook: 'i=1; while [ $i -le 20 ]; do echo "pre-$i"; i=$((i+1)); done',
      post_hook: 'i=1; while [ $i -le 300 ]; do echo "post-$i"; i=$((i+1)); done',
    });
    await s.waitJob(id, ['running']);
    await s.stopServer();
    // The backup keeps running and finishes while the server is away: its job.finished report
    // lands in the agent's on-disk outbox (sent and acknowledged once the server is back).
    const outbox = path.join(s.agentDir, 'outbox.jsonl');
    await eventually(async () => fs.existsSync(outbox) && fs.readFileSync(outbox, 'utf8').includes('"job.finished"'), 60_000, 'job.finished in the agent outbox');
    await s.startServerAgain();
    const job = await s.waitJob(id, ['succeeded', 'failed', 'cancelled'], 60_000);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    const logs = await s.logs(id);
    expectCompleteOrdered(logs);
    const payloads = logs.map((l) => l.payload);
    const summaryAt = payloads.findIndex((p) => p.includes('"message_type":"summary"'));
    expect(summaryAt).toBeGreaterThan(0);
    const numbered = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}_hook: ${prefix}-${i + 1}`);
    expect(payloads.filter((p) => p.startsWith('pre_hook: '))).toEqual(numbered('pre', 20));
    expect(payloads.filter((p) => p.startsWith('post_hook: '))).toEqual(numbered('post', 300));
    expect(payloads.indexOf('pre_hook: pre-20')).toBeLessThan(summaryAt);
    expect(payloads.indexOf('post_hook: post-1')).toBeGreaterThan(summaryAt);
  });

  it('a schedule keeps firing while the server is down and its reports arrive after it returns', async () => {
    const sched = await s.api.req('POST', `/api/hosts/${s.hostId}/schedules`, { kind: 'backup', cron_expr: '*/2 * * * * *', paths: [src], tags: ['sched'] });
    expect(sched.status, JSON.stringify(sched.body)).toBe(201);
    const scheduleId = sched.body.id as string;
    await eventually(async () => (await s.api.req('GET', `/api/hosts/${s.hostId}`)).body.applied_schedule_version >= 1, 20_000, 'schedule acked');
    await s.stopServer();
    const journal = path.join(s.agentDir, 'outbox.jsonl');
    await eventually(async () => fs.readFileSync(journal, 'utf8').includes(scheduleId) && fs.readFileSync(journal, 'utf8').includes('"job.finished"'), 30_000, 'a scheduled job finished offline');
    await s.startServerAgain();
    const jobs = await eventually(async () => {
      const r = await s.api.req('GET', `/api/jobs?host_id=${s.hostId}&limit=200`);
      const mine = (r.body.items as { schedule_id: string | null; status: string; id: string }[]).filter((j) => j.schedule_id === scheduleId && j.status === 'succeeded');
      return mine.length >= 1 ? mine : null;
    }, 30_000, 'scheduled jobs reported');
    expectCompleteOrdered(await s.logs(jobs[0]!.id));
    const del = await s.api.req('DELETE', `/api/schedules/${scheduleId}`);
    expect([200, 204]).toContain(del.status);
  });
});
