import { chmod, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffTrees, hashTree, makeCorpus, tempDir, type TempDir } from '@restic-manager/testkit';

describe('makeCorpus + hashTree', () => {
  let a: TempDir;
  let b: TempDir;
  beforeAll(async () => {
    a = await tempDir();
    b = await tempDir();
  });
  afterAll(async () => {
    await a.cleanup();
    await b.cleanup();
  });

  it('is deterministic for a seed and has the promised mix', async () => {
    const ra = await makeCorpus(a.path, { files: 40, totalBytes: 2_000_000, seed: 7 });
    const rb = await makeCorpus(b.path, { files: 40, totalBytes: 2_000_000, seed: 7 });
    expect(ra).toEqual(rb);
    expect(ra.files).toBe(40);
    expect(ra.bytes).toBeGreaterThan(1_900_000);
    expect(ra.bytes).toBeLessThan(2_400_000);
    const ta = await hashTree(a.path);
    const tb = await hashTree(b.path);
    expect(diffTrees(ta, tb)).toEqual([]);

    const files = [...ta.entries()].filter(([, e]) => e.type === 'file');
    expect(files).toHaveLength(40);
    expect(files.reduce((s, [, e]) => s + e.size, 0)).toBe(ra.bytes);
    // duplicates, nesting, a symlink, large files
    const hashes = files.map(([, e]) => e.sha256);
    expect(new Set(hashes).size).toBeLessThan(hashes.length);
    expect([...ta.keys()].some((k) => k.split('/').length >= 4)).toBe(true);
    const links = [...ta.entries()].filter(([, e]) => e.type === 'symlink');
    expect(links).toHaveLength(1);
    expect(await readlink(path.join(a.path, links[0]![0]))).toBe(links[0]![1].linkTarget);
    expect(files.filter(([k]) => k.startsWith('large/'))).toHaveLength(3);
    // text compresses well, binary does not
    const text = files.find(([k, e]) => k.endsWith('.txt') && e.size > 10_000)![0];
    const txt = await readFile(path.join(a.path, text));
    expect(gzipSync(txt).length).toBeLessThan(txt.length / 2);
  });

  it('a different seed gives different content', async () => {
    const c = await tempDir();
    try {
      await makeCorpus(c.path, { files: 40, totalBytes: 2_000_000, seed: 8 });
      expect(diffTrees(await hashTree(a.path), await hashTree(c.path)).length).toBeGreaterThan(0);
    } finally {
      await c.cleanup();
    }
  });

  it('diffTrees reports content, mode and missing-file differences', async () => {
    const before = await hashTree(b.path);
    const victim = [...before.entries()].find(([, e]) => e.type === 'file')![0];
    await writeFile(path.join(b.path, victim), 'changed');
    const other = [...before.entries()].filter(([, e]) => e.type === 'file')[1]![0];
    await chmod(path.join(b.path, other), 0o600);
    const d = diffTrees(before, await hashTree(b.path));
    expect(d.some((l) => l.startsWith(`differs: ${victim}`))).toBe(true);
    expect(d.some((l) => l.startsWith(`differs: ${other}`) && l.includes('"mode":384'))).toBe(true);
  });
});
