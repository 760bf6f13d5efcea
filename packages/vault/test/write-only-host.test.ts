// Write-only hosts on a local directory: the backing-up host only creates objects (no delete, no
// overwrite, no lock it rewrites), runs of one config exclude each other through a local lock,
// and the trusted prune's two-phase deletion never removes a blob a running backup may commit.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { backup, check, LeaseLapsedError, LocalLockError, LocalStorage, listSnapshots, prune, restore } from '../src/index.js';
import type { ObjectInfo } from '../src/storage/index.js';
import { backupsBesidePrunes } from './concurrent-prune.js';
import { localConfig, writeTree } from './helpers.js';
import { gate, holdAtCommit, WriteOnceStorage } from './write-once-storage.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-wo-');
});
afterEach(() => dir.cleanup());

function ageTree(root: string, hours: number): void {
  const t = new Date(Date.now() - hours * 3_600_000);
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) if (e.isFile()) utimesSync(path.join(e.parentPath, e.name), t, t);
}

function blobIds(repo: string): string[] {
  return readdirSync(path.join(repo, 'blobs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
}

/**
 * Snapshot 1 holds a.bin (blob X); snapshot 2 does not, so X is referenced only by snapshot 1,
 * but the host's index still knows X's chunks. a.bin comes back with the same content, so the
 * next backup reuses X unless told otherwise.
 */
async function reusableOldBlob(): Promise<{ src: string; cfg: ReturnType<typeof localConfig>['cfg']; identity: ReturnType<typeof localConfig>['identity']; repo: string; x: string; a: Buffer; first: string }> {
  const src = path.join(dir.path, 'src');
  const a = randomBytes(150_000);
  writeTree(src, { 'a.bin': a, 'keep.txt': 'k' });
  const { cfg, identity, repo } = localConfig(dir.path, [src]);
  const host = new WriteOnceStorage(repo);
  const first = (await backup(cfg, { storage: host })).snapshotId;
  const [x] = blobIds(repo);
  rmSync(path.join(src, 'a.bin'));
  writeFileSync(path.join(src, 'keep.txt'), 'k2');
  await backup(cfg, { storage: host });
  writeFileSync(path.join(src, 'a.bin'), a);
  ageTree(repo, 48);
  expect(host.refused).toEqual([]);
  return { src, cfg, identity, repo, x: x!, a, first };
}

/** The trusted side forgets a snapshot (what a retention policy does; both snapshots share one second, so keep_last could not tell them apart). */
function forget(repo: string, id: string): void {
  for (const ext of ['age', 'refs']) rmSync(path.join(repo, 'index', `${id}.${ext}`));
}

describe('backup vs prune without remote locks', () => {
  it('a prune while a backup that reuses an old blob is running condemns it but defers deletion; the snapshot restores', async () => {
    const { src, cfg, identity, repo, x, a, first } = await reusableOldBlob();
    const host = new WriteOnceStorage(repo);
    const { reached: atCommit, release } = holdAtCommit(host);
    const running = backup(cfg, { storage: host });
    await atCommit.promise;
    const trusted = new LocalStorage(repo);
    forget(repo, first);
    const p = await prune({ storage: trusted, indexPrefix: cfg.indexPrefix, graceMs: 0 });
    expect(p).toMatchObject({ blobsDeleted: 0, blobsDeferred: 1 });
    expect(blobIds(repo)).toContain(x);
    release.open();
    const r = await running;
    expect(r.chunksNew).toBe(0); // X was reused
    const out = path.join(dir.path, 'out');
    expect((await restore({ storage: trusted, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out })).damaged).toEqual([]);
    expect(readFileSync(path.join(out, src, 'a.bin')).equals(a)).toBe(true);
    // The run has ended: the deferred list is executed, and X is now referenced, so it stays.
    const later = await prune({ storage: trusted, indexPrefix: cfg.indexPrefix, graceMs: 0 });
    expect(later).toMatchObject({ blobsDeleted: 0, blobsDeferred: 0 });
    expect(blobIds(repo)).toContain(x);
    expect((await check({ storage: trusted, indexPrefix: cfg.indexPrefix, identity })).problems).toEqual([]);
    expect(host.refused).toEqual([]);
  });

  it('a backup that starts after a prune condemned a blob does not reuse it, so deleting it later leaves the snapshot whole', async () => {
    const { src, cfg, identity, repo, x, a, first } = await reusableOldBlob();
    forget(repo, first);
    const trusted = new (class extends LocalStorage {
      reached = gate();
      release = gate();
      override async delete(key: string): Promise<void> {
        if (key.startsWith('blobs/')) {
          this.reached.open();
          await this.release.promise;
        }
        return super.delete(key);
      }
    })(repo);
    const pruning = prune({ storage: trusted, indexPrefix: cfg.indexPrefix, graceMs: 0 });
    await trusted.reached.promise; // the list is written and the prune is about to delete X
    const host = new WriteOnceStorage(repo);
    const r = await backup(cfg, { storage: host });
    expect(r.chunksNew).toBeGreaterThan(0); // a.bin's chunks went up again, in a new blob
    trusted.release.open();
    expect((await pruning).blobsDeleted).toBeGreaterThan(0);
    expect(blobIds(repo)).not.toContain(x);
    const out = path.join(dir.path, 'out');
    expect((await restore({ storage: trusted, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out })).damaged).toEqual([]);
    expect(readFileSync(path.join(out, src, 'a.bin')).equals(a)).toBe(true);
    expect((await check({ storage: trusted, indexPrefix: cfg.indexPrefix, identity })).problems).toEqual([]);
    expect(host.refused).toEqual([]);
  });

  it('the host writes only create-once markers: runs/<id>.start and .end, no locks/, nothing deleted', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'f.txt': 'x' });
    const { cfg, repo } = localConfig(dir.path, [src]);
    const host = new WriteOnceStorage(repo);
    await backup(cfg, { storage: host });
    await backup(cfg, { storage: host });
    const runs = readdirSync(path.join(repo, 'runs')).sort();
    expect(runs).toHaveLength(4);
    expect(runs.filter((n) => n.endsWith('.start'))).toHaveLength(2);
    expect(runs.filter((n) => n.endsWith('.end'))).toHaveLength(2);
    expect(readdirSync(repo)).not.toContain('locks');
    expect(host.refused).toEqual([]);
  });
});

describe('two write-only hosts and back-to-back prunes on one directory', () => {
  it('no host ever deletes or overwrites, no backup fails, every snapshot restores', async () => {
    const repo = path.join(dir.path, 'repo');
    mkdirSync(repo);
    const hosts: WriteOnceStorage[] = [];
    const r = await backupsBesidePrunes(dir.path, {
      target: { local_dir: repo },
      host: () => {
        const h = new WriteOnceStorage(repo);
        hosts.push(h);
        return h;
      },
      trusted: new LocalStorage(repo),
    });
    expect(r).toMatchObject({ snapshots: 10 });
    expect(r.deleted).toBeGreaterThan(0);
    expect(r.verified).toBeGreaterThanOrEqual(5);
    expect(hosts.flatMap((h) => h.refused)).toEqual([]);
  }, 120_000);
});

describe('the local lock', () => {
  it('a second backup of the same config while one runs fails naming the lock; a lock of a dead process is taken over', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'f.txt': 'x' });
    const { cfg, repo } = localConfig(dir.path, [src]);
    const host = new WriteOnceStorage(repo);
    const { reached: held, release } = holdAtCommit(host);
    const first = backup(cfg, { storage: host });
    await held.promise;
    const second = backup(cfg, { storage: new WriteOnceStorage(repo) });
    await expect(second).rejects.toThrow(LocalLockError);
    await expect(second).rejects.toThrow(new RegExp(`another backup of this config is running \\(pid ${process.pid}, lock ${cfg.indexPath}\\.lock\\)`));
    release.open();
    await first;
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(`${cfg.indexPath}.lock`, `${dead}\n`);
    host.beforePut = () => undefined;
    await expect(backup(cfg, { storage: host })).resolves.toMatchObject({ snapshotId: expect.any(String) });
    expect((await listSnapshots(host, cfg.indexPrefix)).filter((s) => s.committed)).toHaveLength(2);
  });
});

describe('the run lease', () => {
  it('a run that could not write its markers for too long commits nothing', async () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'f.txt': 'x' });
    const { cfg, repo } = localConfig(dir.path, [src]);
    const failedBeats = { n: 0, three: gate() };
    const host = new (class extends WriteOnceStorage {
      blobLists = 0;
      override async *list(prefix: string): AsyncIterable<ObjectInfo> {
        // The second listing of blobs/ is the pre-commit check: hold it until beats have failed.
        if (prefix === 'blobs/' && ++this.blobLists === 2) await failedBeats.three.promise;
        yield* super.list(prefix);
      }
    })(repo);
    host.beforePut = (key) => {
      if (/\.alive-\d+$/.test(key)) {
        if (++failedBeats.n === 3) failedBeats.three.open();
        throw new Error('network down');
      }
    };
    await expect(backup(cfg, { storage: host, lease: { refreshMs: 10, staleMs: 30 } })).rejects.toThrow(LeaseLapsedError);
    expect((await listSnapshots(host, cfg.indexPrefix)).filter((s) => s.committed)).toHaveLength(0);
    const end = readdirSync(path.join(repo, 'runs')).find((n) => n.endsWith('.end'));
    expect(JSON.parse(readFileSync(path.join(repo, 'runs', end!), 'utf8'))).toMatchObject({ error: 'no snapshot committed' });
  });
});
