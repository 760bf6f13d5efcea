import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Engine } from '@restic-manager/engines';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { createLogger } from '../src/log.js';
import { RequestHandler } from '../src/jobs/requests.js';

/*
 * Issue 22: a 100,000-entry directory in the snapshot browser. Each page used to restart
 * `restic ls` (2–3 s a page); now the first page's listing is kept, so every later page is served
 * from memory — restic runs once (page timings: `npm run bench:browse`).
 */
const restic = requireTool('restic');
const N = 100_000;

describe.skipIf(!restic.ok)('paging a 100,000-entry directory (real restic)', () => {
  let tmp: TempDir;
  let dir: string;
  let snapshot = '';
  const calls: string[] = [];
  const base = createEngine('restic');
  const engine: Engine = { ...base, ls: (c, req, o) => (calls.push(req.path ?? '/'), base.ls(c, req, o)) };
  const repo = (): { repository: string; password: string } => ({ repository: path.join(tmp.path, 'repo'), password: 'ls-large-dir-pw' });

  beforeAll(async () => {
    tmp = await tempDir('rm-ls-large-');
    dir = path.join(tmp.path, 'src', 'big');
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < N; i++) fs.writeFileSync(path.join(dir, `f${String(i).padStart(6, '0')}`), '');
    expect((await base.init(repo())).ok).toBe(true);
    const b = await base.backup(repo(), { paths: [dir] });
    expect(b.ok).toBe(true);
    if (b.ok) snapshot = b.value.snapshotId;
  }, 180_000);
  afterAll(async () => tmp?.cleanup());

  it('restic lists the directory once; pages at any offset come from the kept listing', async () => {
    const sent: Record<string, unknown>[] = [];
    const h = new RequestHandler({ engine: async () => engine, jobFilesDir: path.join(tmp.path, 'job-files'), secrets: repo, send: (f) => sent.push(f), log: createLogger({ write: () => undefined }) });
    const page = async (offset: number): Promise<{ entries: { name: string }[]; has_more: boolean; error: string | null }> => {
      const before = sent.length;
      h.handle({ type: 'snapshot.ls', request_id: `r${offset}`, snapshot_id: snapshot, path: dir, limit: 500, offset });
      for (let i = 0; i < 1200 && sent.length === before; i++) await new Promise((r) => setTimeout(r, 25));
      return sent[before] as never;
    };
    const first = await page(0);
    expect(first.error).toBeNull();
    expect(first.entries.map((e) => e.name).slice(0, 2)).toEqual(['f000000', 'f000001']);
    for (const offset of [500, 50_000, N - 500]) {
      const r = await page(offset);
      expect(r.entries).toHaveLength(500);
      expect(r.entries[0]!.name).toBe(`f${String(offset).padStart(6, '0')}`);
      expect(r.has_more).toBe(offset + 500 < N);
    }
    expect(calls).toEqual([dir]);
  }, 120_000);
});
