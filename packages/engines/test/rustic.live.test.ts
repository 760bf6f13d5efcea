import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus, requireTool, tempDir, type TempDir } from '@restic-manager/testkit';
import { RusticEngine, type Connection, type LsEntry, type Progress, type Result } from '@restic-manager/engines';
import { NO_PROFILE } from '../src/rustic/connection.js';
import { parseRusticForget } from '../src/rustic/parse.js';
import { dripStream, waitFor } from './contract/streams.js';

/**
 * What the shared contract suite does not pin down for rustic, live against rustic-rs: progress
 * while a backup runs, restore filters as subtrees, ls below a directory, diff paths, the
 * retention mapping, no host profile, and check finding damage.
 */
const rustic = requireTool('rustic');
if (!rustic.ok) console.warn(`[rustic live] skipped: ${rustic.reason}`);

function must<T>(r: Result<T>, what: string): T {
  if (!r.ok) throw new Error(`${what} failed: ${r.error.kind}: ${r.error.message}\n${r.error.stderrTail.join('\n')}`);
  return r.value;
}

async function files(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p, base)));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

describe.skipIf(!rustic.ok)('rustic engine, live', () => {
  const engine = new RusticEngine();
  let tmp: TempDir;
  let corpus: string;
  let n = 0;
  const repo = async (): Promise<Connection> => {
    const conn = { repository: path.join(tmp.path, `repo-${n++}`), password: 'live-pass-3e8d', cacheDir: path.join(tmp.path, 'cache') };
    must(await engine.init(conn), 'init');
    return conn;
  };

  beforeAll(async () => {
    tmp = await tempDir('rm-rustic-live-');
    corpus = path.join(tmp.path, 'corpus');
    await makeCorpus(corpus, { files: 12, totalBytes: 200_000, seed: 'rustic-live' });
    await mkdir(path.join(corpus, 'keep', 'deep'), { recursive: true });
    await writeFile(path.join(corpus, 'keep', 'deep', 'x.txt'), 'x\n');
    await writeFile(path.join(corpus, 'keep', 'y.tmp'), 'y\n');
  });
  afterAll(() => tmp.cleanup());

  it('reports progress while a backup is still reading, not only at the end', async () => {
    const conn = await repo();
    const drip = dripStream(256 * 1024, 10, true);
    const seen: Progress[] = [];
    const running = engine.backup(conn, { paths: [], stdin: { stream: drip.stream, filename: 'stream.bin' } }, { onProgress: (p) => seen.push(p), progressIntervalMs: 100 });
    const mid = await waitFor('a progress event past 1 MiB', () => Promise.resolve(seen.find((p) => p.bytesDone >= 1024 * 1024)));
    expect(mid.percentDone).toBeLessThan(1);
    drip.end();
    const b = must(await running, 'backup');
    expect(seen.at(-1)).toMatchObject({ percentDone: 1, bytesDone: b.totalBytesProcessed });
    expect(b.totalBytesProcessed).toBe(drip.pushed());
  });

  it('backup excludes (restic notation: an absolute directory, a name pattern) and --version', async () => {
    expect((await files(corpus)).filter((f) => f.endsWith('.bin')).length).toBeGreaterThan(0); // something to exclude
    const conn = await repo();
    const b = must(await engine.backup(conn, { paths: [corpus], excludes: [path.join(corpus, 'keep'), '*.bin'] }), 'backup');
    const listed: LsEntry[] = [];
    const s = engine.ls(conn, { snapshot: b.snapshotId, path: corpus });
    for await (const e of s.entries) listed.push(e);
    must(await s.result, 'ls');
    expect(listed.filter((e) => e.type === 'file').length).toBeGreaterThan(0);
    expect(listed.filter((e) => e.path.startsWith(path.join(corpus, 'keep')) || e.name.endsWith('.bin'))).toEqual([]);
    expect(must(await engine.version(), 'version').version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('restore include/exclude take whole subtrees (as restic), and report files and bytes', async () => {
    const conn = await repo();
    const { snapshotId } = must(await engine.backup(conn, { paths: [corpus] }), 'backup');
    const only = path.join(tmp.path, 'only-keep');
    const r = must(await engine.restore(conn, { snapshot: snapshotId, target: only, include: [path.join(corpus, 'keep')] }), 'restore include');
    expect(await files(path.join(only, corpus))).toEqual(['keep/deep/x.txt', 'keep/y.tmp']);
    expect(r).toMatchObject({ filesRestored: 2, bytesRestored: 4 });
    const without = path.join(tmp.path, 'without-keep');
    must(await engine.restore(conn, { snapshot: snapshotId, target: without, exclude: [path.join(corpus, 'keep'), '*.bin'] }), 'restore exclude');
    const rest = await files(path.join(without, corpus));
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.filter((f) => f.startsWith('keep/') || f.endsWith('.bin'))).toEqual([]);
    expect(existsSync(path.join(without, corpus, 'keep'))).toBe(false);
  });

  it('ls below a directory lists absolute paths under it; diff names the changed file; stats', async () => {
    const conn = await repo();
    const file = path.join(tmp.path, 'diffsrc', 'notes.txt');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'one\n');
    const a = must(await engine.backup(conn, { paths: [path.dirname(file)] }), 'backup a');
    await appendFile(file, 'two\n');
    const b = must(await engine.backup(conn, { paths: [path.dirname(file)] }), 'backup b');
    const listed: LsEntry[] = [];
    const s = engine.ls(conn, { snapshot: b.snapshotId, path: path.dirname(file) });
    for await (const e of s.entries) listed.push(e);
    must(await s.result, 'ls');
    expect(listed).toEqual([expect.objectContaining({ name: 'notes.txt', path: file, type: 'file', size: 8, mode: 0o644 })]);
    const diff = must(await engine.diff(conn, a.snapshotId, b.snapshotId), 'diff');
    expect(diff.changes).toEqual([{ modifier: 'M', path: file }]);
    // stats: restore-size of every snapshot (4 + 8 bytes), raw-data from the index
    expect(must(await engine.stats(conn), 'stats restore-size')).toMatchObject({ totalSize: 12, totalFileCount: 2, snapshotsCount: 2 });
    const raw = must(await engine.stats(conn, { mode: 'raw-data' }), 'stats raw-data');
    expect(raw).toMatchObject({ snapshotsCount: 2, uncompressedSize: expect.any(Number) as number });
    expect(raw.rawSize).toBeGreaterThan(0);
    expect(raw.blobCount).toBeGreaterThanOrEqual(4); // two file versions, two trees at least
  });

  it('keep-within in restic notation: "1m" is one month, not (as rustic reads it) one minute', async () => {
    const conn = await repo();
    // A snapshot 10 minutes older than the next, made by the real binary (the engine has no --time).
    const old = new Date(Date.now() - 10 * 60_000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '+0000');
    const env = { ...process.env, RUSTIC_REPOSITORY: conn.repository, RUSTIC_PASSWORD: conn.password!, RUSTIC_USE_PROFILE: NO_PROFILE };
    const made = spawnSync('rustic', ['--no-progress', '--no-cache', 'backup', '--time', old, '--', corpus], { env, encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    must(await engine.backup(conn, { paths: [corpus] }), 'backup now');
    // keep-within counts back from the newest snapshot (as restic does)
    const r = must(await engine.forget(conn, { policy: { keepWithin: '1m' }, dryRun: true }), 'forget');
    expect([r.keep.length, r.remove.length]).toEqual([2, 0]);
    // control: rustic itself reads "1m" as one minute and would drop the snapshot
    const raw = spawnSync('rustic', ['--no-progress', '--no-cache', 'forget', '--json', '--dry-run', '--keep-within', '1m'], { env, encoding: 'utf8' });
    expect(parseRusticForget(JSON.parse(raw.stdout)).remove).toHaveLength(1);
  });

  it("reads no rustic.toml profile: a host's [forget] keep-within cannot widen a policy", async () => {
    const conn = await repo();
    for (const tag of ['a', 'b', 'c']) must(await engine.backup(conn, { paths: [corpus], tags: [tag] }), `backup ${tag}`);
    const home = path.join(tmp.path, 'xdg');
    await mkdir(path.join(home, 'rustic'), { recursive: true });
    await writeFile(path.join(home, 'rustic', 'rustic.toml'), '[forget]\nkeep-within = "1y"\n');
    const policy = { keepLast: 1 };
    const isolated = must(await engine.forget({ ...conn, env: { XDG_CONFIG_HOME: home } }, { policy, dryRun: true }), 'forget');
    expect(isolated.remove).toHaveLength(2);
    // control: when the profile is asked for, rustic does read it (so the assertion above can fail)
    const withProfile = must(await engine.forget({ ...conn, env: { XDG_CONFIG_HOME: home, RUSTIC_USE_PROFILE: 'rustic' } }, { policy, dryRun: true }), 'forget with profile');
    expect(withProfile.remove).toHaveLength(0);
  });

  it('check reports a damaged pack file as a problem, not as a failed run', async () => {
    const conn = await repo();
    must(await engine.backup(conn, { paths: [corpus] }), 'backup');
    expect(must(await engine.check(conn, { readData: true }), 'check').errors).toEqual([]);
    const dataDir = path.join(conn.repository, 'data');
    const packs = (await files(dataDir)).map((f) => path.join(dataDir, f));
    await appendFile(packs[0]!, 'damage');
    const r = must(await engine.check(conn, { readData: true }), 'check after damage');
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors.join('\n')).toMatch(/\[ERROR\]/);
  });

  it('a percentage check reads the data: damage inside a pack is found (rustic\'s own x% read no pack here)', async () => {
    const conn = await repo();
    const src = path.join(tmp.path, 'pct-src');
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'big.bin'), randomBytes(3_000_000));
    must(await engine.backup(conn, { paths: [src] }), 'backup');
    const dataDir = path.join(conn.repository, 'data');
    const sized = await Promise.all((await files(dataDir)).map(async (f) => ({ p: path.join(dataDir, f), size: (await stat(path.join(dataDir, f))).size })));
    const pack = sized.sort((a, b) => b.size - a.size)[0]!;
    // in place, same size: only reading the pack's data finds it
    const fd = await open(pack.p, 'r+');
    await fd.write(Buffer.from('XXXXXXXX'), 0, 8, Math.floor(pack.size / 2));
    await fd.close();
    expect(must(await engine.check(conn, { readDataSubset: '60%' }), 'check 60%').errors.join('\n')).toMatch(/\[ERROR\]/);
    // 50% draws one of two id subsets at random: the damaged pack is in one of them
    let found = 0;
    for (let i = 0; i < 12 && found === 0; i++) found += must(await engine.check(conn, { readDataSubset: '50%' }), 'check 50%').errors.length;
    expect(found, 'some 50% check of twelve reads the damaged pack').toBeGreaterThan(0);
    // control: a subset rustic applies itself (a size; its x% uses the same rule) reads no pack
    // smaller than the budget allows — here none — and reports nothing
    expect(must(await engine.check(conn, { readDataSubset: '1KiB' }), 'check 1KiB').errors).toEqual([]);
  });
});
