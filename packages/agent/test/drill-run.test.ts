import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, OutputLine } from '@restic-manager/engines';
import { makeCorpus, requireTool, tempDir, type TempDir } from '@restic-manager/testkit';
import { loadEngine } from '../src/engine-loader.js';
import { executeKind, parseArgs } from '../src/jobs/execute.js';

/*
 * The restore_drill job in the agent with the real engines (issue 16): restic picks the host's
 * latest snapshot in one `ls`, restores the sample with --verify and compares unchanged live
 * files; rustic lists snapshots first and restores with its own engine. No scratch directory is
 * left behind. (Failures through damaged packs and changed live files: e2e/restore-drill.test.ts.)
 */
const engines = (['restic', 'rustic'] as const).map((name) => ({ name, tool: requireTool(name) }));
for (const e of engines) if (!e.tool.ok) console.warn(`[agent drill] ${e.name} skipped: ${e.tool.reason}`);
const scratch = (): string[] => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('restic-manager-drill-'));

describe.each(engines)('restore_drill job with $name', ({ name, tool }) => {
  let tmp: TempDir;
  let src: string;
  let conn: Connection;
  const run = async (args: Record<string, unknown>, lines: OutputLine[] = []) =>
    executeKind(await loadEngine(name), conn, 'restore_drill', parseArgs('restore_drill', args), { progressIntervalMs: 0, onLine: (l) => lines.push(l) });

  beforeAll(async () => {
    if (!tool.ok) return;
    tmp = await tempDir(`rm-agent-drill-${name}-`);
    src = path.join(tmp.path, 'src');
    await makeCorpus(path.join(src, 'a'), { files: 20, totalBytes: 2 * 1024 * 1024, seed: `drill-${name}-a` });
    await makeCorpus(path.join(src, 'b'), { files: 10, totalBytes: 1024 * 1024, seed: `drill-${name}-b` });
    conn = { repository: path.join(tmp.path, 'repo'), password: `drill-${name}-pw`, cacheDir: path.join(tmp.path, 'cache') };
    const engine = await loadEngine(name);
    expect((await engine.init(conn)).ok).toBe(true);
    const b = await engine.backup(conn, { paths: [path.join(src, 'a'), path.join(src, 'b')] });
    expect(b.ok, JSON.stringify(b)).toBe(true);
  }, 120_000);
  afterAll(async () => tmp?.cleanup());

  it.skipIf(!tool.ok)("drills the latest snapshot: a seeded sample with the largest file and one per top-level path, verified, nothing left behind", async () => {
    const before = scratch();
    const lines: OutputLine[] = [];
    const r = await run({ hostname: os.hostname(), sample_files: 4, seed: 'agent', compare_live: true }, lines);
    expect(r.outcome.status, JSON.stringify(r.outcome)).toBe('succeeded');
    const st = r.outcome.stats as Record<string, number | string>;
    expect(st.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
    expect(st.snapshot_files).toBe(30);
    expect(st.files).toBeGreaterThanOrEqual(4);
    expect(st.files).toBeLessThanOrEqual(7);
    expect(st.rto_seconds).toBeGreaterThan(0);
    // restic ls gives mtimes to the nanosecond: unchanged live files are compared; rustic's are to the minute.
    if (name === 'restic') expect(st.live_compared).toBe(st.files);
    expect(scratch()).toEqual(before);
    expect(lines.map((l) => l.line).join('\n')).toMatch(/drilling snapshot [0-9a-f]{8} .* of 30 files/);
    // The snapshot's listing is the sampler's input, not the job's log (30 entries here, 100,000 elsewhere).
    expect(lines.filter((l) => /"struct_type"|"path":"\//.test(l.line))).toEqual([]);
    const again = await run({ hostname: os.hostname(), sample_files: 4, seed: 'agent' });
    expect((again.outcome.stats as Record<string, unknown>).bytes).toBe(st.bytes);
  }, 120_000);

  it.skipIf(!tool.ok)('a host without snapshots fails with a clear reason', async () => {
    const r = await run({ hostname: 'no-such-host' });
    expect(r.outcome).toMatchObject({ status: 'failed', error: 'no snapshot to drill of host no-such-host: back the host up first' });
  }, 60_000);
});
