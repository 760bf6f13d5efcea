import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, Engine } from '@restic-manager/engines';
import { makeCorpus, requireTool, tempDir, type TempDir } from '@restic-manager/testkit';
import { loadEngine } from '../src/engine-loader.js';
import { LogicalBytes } from '../src/jobs/logical-bytes.js';

/*
 * The dedup ratio's logical bytes (restore size of every snapshot) with real restic: after a
 * backup only the new snapshot is walked, the sum equals restic's own figure over all snapshots,
 * and a snapshot removed by forget makes it walk all of them again.
 */
const tool = requireTool('restic');
if (!tool.ok) console.warn(`[logical bytes] restic skipped: ${tool.reason}`);

describe.skipIf(!tool.ok)('LogicalBytes with restic', () => {
  let tmp: TempDir;
  let conn: Connection;
  let engine: Engine;
  /** The snapshot lists each restore-size stats call named ([] = all). */
  const walked: string[][] = [];
  let counted: Engine;

  beforeAll(async () => {
    tmp = await tempDir('rm-agent-logical-');
    conn = { repository: path.join(tmp.path, 'repo'), password: 'logical-bytes-pw', cacheDir: path.join(tmp.path, 'cache') };
    engine = await loadEngine('restic');
    counted = Object.assign(Object.create(engine) as Engine, {
      stats: (c: Connection, req: Parameters<Engine['stats']>[1], opts?: Parameters<Engine['stats']>[2]) => {
        if (req?.mode === 'restore-size') walked.push([...(req.snapshots ?? [])]);
        return engine.stats(c, req, opts);
      },
    });
    expect((await engine.init(conn)).ok).toBe(true);
    await makeCorpus(path.join(tmp.path, 'src'), { files: 12, totalBytes: 600 * 1024, seed: 'logical' });
  }, 60_000);
  afterAll(async () => tmp?.cleanup());

  const backup = async (extra: string): Promise<void> => {
    fs.writeFileSync(path.join(tmp.path, 'src', 'extra.bin'), extra);
    expect((await engine.backup(conn, { paths: [path.join(tmp.path, 'src')] })).ok).toBe(true);
  };
  const ids = async (): Promise<string[]> => {
    const s = await engine.snapshots(conn);
    if (!s.ok) throw new Error(s.error.message);
    return s.value.map((x) => x.id);
  };
  const restic = async (): Promise<number> => {
    const r = await engine.stats(conn, { mode: 'restore-size' });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.totalSize;
  };

  it('walks only new snapshots after a backup, all of them after a forget, and always sums to restic’s figure', async () => {
    const logical = new LogicalBytes();
    await backup('x'.repeat(1000));
    await backup('y'.repeat(5000));
    const first = await ids();
    expect(await logical.total(counted, conn, first)).toBe(await restic());
    expect(walked.at(-1)?.sort()).toEqual([...first].sort()); // a cold start names every snapshot

    await backup('z'.repeat(20_000));
    const second = await ids();
    walked.length = 0;
    expect(await logical.total(counted, conn, second)).toBe(await restic());
    expect(walked).toEqual([second.filter((id) => !first.includes(id))]); // one walk, of the new snapshot

    walked.length = 0;
    expect(await logical.total(counted, conn, second)).toBe(await restic());
    expect(walked).toEqual([]); // nothing new: no walk at all

    expect((await engine.forget(conn, { policy: { keepLast: 1 } })).ok).toBe(true);
    const third = await ids();
    expect(third).toHaveLength(1);
    walked.length = 0;
    expect(await logical.total(counted, conn, third)).toBe(await restic());
    expect(walked).toEqual([third]); // a snapshot is gone: all current ones are walked again
  }, 120_000);
});
