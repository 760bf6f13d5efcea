import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from './local-stack.js';
import { LOCAL_REPO_PASSWORD, eventually, localStackTools, startLocalStack } from './local-stack.js';

/*
 * Issue 16 with the real agent and restic 0.14: "what changed" between a snapshot and its parent
 * (GET /api/hosts/{id}/snapshots/{snapshot_id}/diff) and the retention preview
 * (POST /api/hosts/{id}/forget/preview), which must be a dry run that removes nothing.
 */

const run = promisify(execFile);
if (localStackTools.length) console.warn(`skipping diff / retention preview e2e: missing ${localStackTools.join(', ')}`);

describe.skipIf(localStackTools.length > 0)('snapshot diff and retention preview through the real agent', { timeout: 120_000 }, () => {
  let s: LocalStack;
  let src: string;
  let snaps: { id: string; short_id: string; time: string }[] = [];

  const resticIds = async (): Promise<string[]> => {
    const { stdout } = await run('restic', ['-r', s.repoDir, '--no-cache', 'snapshots', '--json'], { env: { ...process.env, RESTIC_PASSWORD: LOCAL_REPO_PASSWORD } });
    return (JSON.parse(stdout) as { id: string }[]).map((x) => x.id).sort();
  };

  beforeAll(async () => {
    s = await startLocalStack();
    src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(path.join(src, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(src, 'keep.txt'), 'unchanged\n');
    fs.writeFileSync(path.join(src, 'old.txt'), 'to be removed\n');
    fs.writeFileSync(path.join(src, 'docs', 'report.txt'), 'v1\n');
    expect((await s.waitJob(await s.runJob('backup', { paths: [src] }))).status).toBe('succeeded');
    fs.rmSync(path.join(src, 'old.txt'));
    fs.writeFileSync(path.join(src, 'docs', 'report.txt'), 'v2, longer than before\n');
    fs.writeFileSync(path.join(src, 'new.bin'), Buffer.alloc(64 * 1024, 7));
    expect((await s.waitJob(await s.runJob('backup', { paths: [src] }))).status).toBe('succeeded');
    snaps = await eventually(async () => {
      const r = await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots`);
      return r.body.total === 2 ? (r.body.items as { id: string; short_id: string; time: string }[]) : null;
    }, 20_000, 'two snapshots reported');
    snaps.sort((a, b) => a.time.localeCompare(b.time));
  });

  afterAll(async () => {
    await s?.close();
  });

  it('shows what changed between the newer snapshot and its parent, from restic diff', async () => {
    const [first, second] = snaps;
    const r = await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots/${second!.short_id}/diff`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      from: { id: first!.id }, to: { id: second!.id }, total_changes: 3, has_more: false, changed_files: 1,
      added: { files: 1 }, removed: { files: 1 },
    });
    expect(r.body.added.bytes).toBeGreaterThan(0);
    const changes = r.body.changes as { modifier: string; path: string }[];
    expect(changes.map((c) => `${c.modifier} ${path.basename(c.path)}`).sort()).toEqual(['+ new.bin', '- old.txt', 'M report.txt']);
    expect(changes.every((c) => c.path.startsWith(src))).toBe(true);
    const page = await s.api.req('GET', `/api/hosts/${s.hostId}/snapshots/${second!.id}/diff?against=${first!.short_id}&limit=1&offset=1`);
    expect(page.body).toMatchObject({ total_changes: 3, has_more: true });
    expect(page.body.changes).toEqual([changes[1]]);
    expect(s.argv().some((l) => l.endsWith(`diff --json ${first!.id} ${second!.id}`))).toBe(true);
  });

  it('previews a retention policy with the rule that keeps each snapshot, removing nothing', async () => {
    const [first, second] = snaps;
    const before = s.argv().length;
    const r = await s.api.req('POST', `/api/hosts/${s.hostId}/forget/preview`, { policy: { keep_last: 1 } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ keep_count: 1, remove_count: 1, truncated: false });
    expect(r.body.keep).toEqual([expect.objectContaining({ id: second!.id, reasons: ['last snapshot'], rules: ['keep_last'] })]);
    expect(r.body.remove).toEqual([expect.objectContaining({ id: first!.id, reasons: [], rules: [] })]);
    const calls = s.argv().slice(before);
    expect(calls.filter((l) => / forget /.test(` ${l} `))).toEqual([expect.stringMatching(/forget --json --keep-last 1 --dry-run --no-lock$/)]);
    expect(calls.join('\n')).not.toContain(LOCAL_REPO_PASSWORD);
    expect(await resticIds()).toEqual(snaps.map((x) => x.id).sort());
  });
});
