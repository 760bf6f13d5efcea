import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hashTree, tempDir, type TempDir } from '@restic-manager/testkit';
import { backup, check, fetchPath, LocalStorage, listSnapshots, prune, restore } from '../src/index.js';
import { flip, localConfig, writeTree } from './helpers.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-pc-');
});
afterEach(() => dir.cleanup());

function allFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}

/** Makes every object in the repo look older than the grace period. */
function age(repo: string, hours: number): void {
  const t = new Date(Date.now() - hours * 3_600_000);
  for (const f of allFiles(repo)) utimesSync(f, t, t);
}

/** `files` written under src/ and backed up once (with `extra` settings) to a local repository. */
async function backedUp(files: Record<string, string | Buffer>, extra: Record<string, unknown> = {}) {
  const src = path.join(dir.path, 'src');
  writeTree(src, files);
  const { cfg, identity, repo } = localConfig(dir.path, [src], extra);
  const storage = new LocalStorage(repo);
  const r = await backup(cfg, { storage });
  return { src, cfg, identity, repo, storage, r };
}

/** A backup of a.bin (`bytes` random bytes) and an orphan blob `blobs/<b>/<b×32>` uploaded just now, as an interrupted backup leaves one. */
async function backedUpWithOrphan(bytes: number, b: string) {
  const made = await backedUp({ 'a.bin': randomBytes(bytes) });
  const orphan = `blobs/${b}/${b.repeat(32)}`;
  await made.storage.put(orphan, randomBytes(100));
  return { ...made, orphan };
}

/** `n` files f0.bin… of `size` random bytes each, backed up once with `extra` settings. */
async function backedUpRandomFiles(n: number, size: number, extra: Record<string, unknown>) {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < n; i++) files[`f${i}.bin`] = randomBytes(size);
  return { files, ...(await backedUp(files, extra)) };
}

describe('prune', () => {
  it('keeps every blob referenced by any retained snapshot, not just the newest, without the key', async () => {
    const { src, cfg, identity, repo, storage, r: first } = await backedUp({ 'old.bin': randomBytes(200_000) });
    // The second snapshot no longer contains old.bin: its blob is referenced only by the first.
    writeFileSync(path.join(src, 'old.bin'), randomBytes(1000));
    await backup(cfg, { storage });
    age(repo, 48);
    const r = await prune({ storage, indexPrefix: cfg.indexPrefix });
    expect(r.snapshotsRemoved).toEqual([]);
    expect(r.blobsDeleted).toBe(0);
    const out = path.join(dir.path, 'out');
    const res = await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: first.snapshotId, target: out });
    expect(res.damaged).toEqual([]);
    expect(statSync(path.join(out, src, 'old.bin')).size).toBe(200_000);
  });

  it('a retention policy drops old snapshots and then their unreferenced blobs', async () => {
    const { src, cfg, identity, repo, storage } = await backedUp({ 'a.bin': randomBytes(200_000) });
    writeFileSync(path.join(src, 'a.bin'), randomBytes(200_000));
    // The second snapshot must be the newer one by its (whole-second) time: move the clock, not the test.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2000 });
    let second: Awaited<ReturnType<typeof backup>>;
    try {
      second = await backup(cfg, { storage });
    } finally {
      vi.useRealTimers();
    }
    age(repo, 48);
    const r = await prune({ storage, indexPrefix: cfg.indexPrefix, policy: { keep_last: 1 } });
    expect(r.snapshotsKept).toEqual([second.snapshotId]);
    expect(r.snapshotsRemoved).toHaveLength(1);
    expect(r.blobsDeleted).toBeGreaterThan(0);
    expect((await listSnapshots(storage, cfg.indexPrefix)).map((s) => s.id)).toEqual([second.snapshotId]);
    const res = await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: second.snapshotId, target: path.join(dir.path, 'out') });
    expect(res.damaged).toEqual([]);
    expect((await check({ storage, indexPrefix: cfg.indexPrefix, identity })).problems).toEqual([]);
  });

  it('never deletes a young unreferenced blob (grace period); a blob condemned while a backup runs is deleted only after that run ends', async () => {
    const { cfg, repo, storage, orphan } = await backedUpWithOrphan(100_000, 'ab');
    const r = await prune({ storage, indexPrefix: cfg.indexPrefix });
    expect(r.blobsDeleted).toBe(0);
    expect(r.blobsInGrace).toBe(1);
    // A run that started and has not ended (its markers are fresh).
    const run = '20260101T000000Z-00112233445566ff';
    await storage.put(`runs/${run}.start`, Buffer.from('{}'));
    age(path.join(repo, 'blobs'), 48);
    const deferred = await prune({ storage, indexPrefix: cfg.indexPrefix });
    expect(deferred).toMatchObject({ blobsDeleted: 0, blobsDeferred: 1 });
    expect(await storage.head(orphan)).not.toBeNull();
    expect(readdirSync(path.join(repo, 'prune')).sort()).toEqual([expect.stringMatching(/\.condemned$/), expect.stringMatching(/\.seen$/)]);
    await storage.put(`runs/${run}.end`, Buffer.from('{}'));
    expect(await prune({ storage, indexPrefix: cfg.indexPrefix })).toMatchObject({ blobsDeleted: 1, blobsDeferred: 0 });
    expect(await storage.head(orphan)).toBeNull();
    expect(readdirSync(path.join(repo, 'prune'))).toEqual([]);
  });

  it('a run whose markers went stale is dead; a legacy locks/ object of an older version still defers deletion while fresh', async () => {
    const { cfg, repo, storage, orphan } = await backedUpWithOrphan(1000, 'cd');
    await storage.put('locks/0123456789abcdef.json', Buffer.from('{}'));
    age(path.join(repo, 'blobs'), 48);
    expect(await prune({ storage, indexPrefix: cfg.indexPrefix })).toMatchObject({ blobsDeleted: 0, blobsDeferred: 1 });
    await storage.put('runs/20260101T000000Z-aabbccddeeff0011.start', Buffer.from('{}'));
    age(path.join(repo, 'locks'), 1);
    age(path.join(repo, 'runs'), 1);
    expect(await prune({ storage, indexPrefix: cfg.indexPrefix })).toMatchObject({ blobsDeleted: 1, blobsDeferred: 0 });
    expect(await storage.head(orphan)).toBeNull();
  });

  it('refuses to delete anything when a reference list is corrupt (no key)', async () => {
    const { cfg, repo, storage } = await backedUp({ 'a.bin': randomBytes(1000) });
    const refs = allFiles(repo).find((f) => f.endsWith('.refs'))!;
    const b = readFileSync(refs);
    flip(b, 20);
    writeFileSync(refs, b);
    await storage.put(`blobs/cd/${'cd'.repeat(32)}`, randomBytes(10));
    age(repo, 48);
    await expect(prune({ storage, indexPrefix: cfg.indexPrefix })).rejects.toThrow(/nothing deleted/);
    expect(await storage.head(`blobs/cd/${'cd'.repeat(32)}`)).not.toBeNull();
  });
});

describe('damage detection', () => {
  it('a flipped bit in a blob is found by check (naming files) and by restore; other files restore', async () => {
    // Incompressible files large enough to span several 64 KiB segments each.
    const { src, cfg, identity, repo, storage, r } = await backedUpRandomFiles(8, 150_000, { chunk_size: '64KiB', pack_size: '4MiB' });
    const blob = allFiles(path.join(repo, 'blobs'))[0]!;
    const b = readFileSync(blob);
    flip(b, Math.floor(b.length / 2), 0x10);
    writeFileSync(blob, b);
    const keyless = await check({ storage, indexPrefix: cfg.indexPrefix });
    expect(keyless.problems.map((p) => p.kind)).toEqual(['blob-corrupt']);
    const c = await check({ storage, indexPrefix: cfg.indexPrefix, identity });
    const affected = c.problems[0]!.files!;
    expect(affected.length).toBeGreaterThanOrEqual(1);
    expect(affected.length).toBeLessThan(8);
    const out = path.join(dir.path, 'out');
    const res = await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out });
    expect(res.damaged.map((d) => `${r.snapshotId}:${d.path}`).sort()).toEqual(affected);
    const tree = await hashTree(path.join(out, src));
    const original = await hashTree(src);
    for (const [rel, e] of tree) if (e.type === 'file') expect(e.sha256).toBe(original.get(rel)!.sha256);
    expect([...tree.values()].filter((e) => e.type === 'file')).toHaveLength(8 - affected.length);
  });

  it('a flipped bit in snapshot metadata is detected by check and restore fails clearly', async () => {
    const { cfg, identity, repo, storage, r } = await backedUp({ 'a.txt': 'x' });
    const meta = allFiles(repo).find((f) => f.endsWith('.age'))!;
    const b = readFileSync(meta);
    flip(b, b.length - 5);
    writeFileSync(meta, b);
    const c = await check({ storage, indexPrefix: cfg.indexPrefix });
    expect(c.problems.map((p) => p.kind)).toEqual(['metadata']);
    await expect(restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: path.join(dir.path, 'o') })).rejects.toThrow(/metadata cannot be read/);
  });

  it('a truncated blob is detected and only its files are lost', async () => {
    const { src, cfg, identity, repo, storage, r } = await backedUp({ 'a.bin': randomBytes(300_000) });
    const blob = allFiles(path.join(repo, 'blobs'))[0]!;
    writeFileSync(blob, readFileSync(blob).subarray(0, 1000));
    const res = await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: path.join(dir.path, 'o') });
    expect(res.damaged.map((d) => d.path)).toEqual([path.join(src, 'a.bin')]);
  });
});

describe('fetch', () => {
  it('downloads about the file’s share of data, not whole blobs', async () => {
    const { src, files, cfg, identity, repo, r } = await backedUpRandomFiles(10, 300_000, { pack_size: '8MiB' });
    const reader = new LocalStorage(repo);
    const target = path.join(dir.path, 'one.bin');
    const before = reader.bytesRead;
    await fetchPath({ storage: reader, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, filepath: path.join(src, 'f3.bin'), target });
    expect(readFileSync(target).equals(files['f3.bin']!)).toBe(true);
    const metaSize = statSync(allFiles(repo).find((f) => f.endsWith('.age'))!).size;
    const downloaded = reader.bytesRead - before - metaSize;
    // The blob holds all ten files (~3 MB). Reads are whole 64 KiB age segments, and with two
    // chunk workers another file's chunk can sit between this file's chunks in the blob, so
    // the fetch may read up to about twice the file (the bound); never the blob.
    expect(downloaded).toBeLessThan(300_000 * 2);
    await expect(fetchPath({ storage: reader, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, filepath: '/nope', target })).rejects.toThrow(/not in snapshot/);
  });
});
