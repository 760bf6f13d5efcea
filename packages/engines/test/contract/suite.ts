import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffTrees, hashTree, makeCorpus, processInfo, processes, tempDir, type TempDir } from '@restic-manager/testkit';
import type { Connection, Engine, LsEntry, LsPage, OutputLine, Result } from '@restic-manager/engines';
import { startBackend, type Backend, type BackendName } from './backends.js';
import { dripStream, waitFor } from './streams.js';

function must<T>(r: Result<T>, what: string): T {
  if (!r.ok) throw new Error(`${what} failed: ${r.error.kind}: ${r.error.message}\n${r.error.stderrTail.join('\n')}`);
  return r.value;
}

/** The pid of the process whose argv contains `marker` (Linux /proc). */
function findProcess(marker: string): number | undefined {
  return processes().find((p) => p.pid !== process.pid && p.argv.join('\0').includes(marker))?.pid;
}

/** The restored copy of `source`: engines restore either the absolute path or the tree root below the target. */
function restoredRoot(target: string, source: string): string {
  const nested = path.join(target, source);
  return existsSync(nested) ? nested : target;
}

/**
 * The engine contract, run against one real backend. Every Engine implementation runs this same
 * suite (restic on local/REST/S3; rustic when installed). Corpora are tiny so it stays fast.
 */
export function engineContract(makeEngine: () => Engine, backendName: BackendName): void {
  const engine = makeEngine();
  describe(`${engine.name} contract on ${backendName}`, () => {
    let backend: Backend;
    let work: TempDir;
    let corpus: string;
    beforeAll(async () => {
      backend = await startBackend(backendName);
      work = await tempDir('rm-contract-');
      corpus = path.join(work.path, 'corpus');
      await makeCorpus(corpus, { files: 30, totalBytes: 400_000, seed: 42 });
    });
    afterAll(async () => {
      await backend.stop();
      await work.cleanup();
    });

    async function freshRepo(name: string): Promise<Connection> {
      const conn = backend.repo(name);
      must(await engine.init(conn), 'init');
      return conn;
    }

    it('init, backup, snapshots, ls paging, restore byte-for-byte, stats and diff', async () => {
      const conn = await freshRepo('basic');
      const progress: number[] = [];
      const b1 = must(await engine.backup(conn, { paths: [corpus], tags: ['first'], host: 'contract-host' }, { onProgress: (p) => progress.push(p.percentDone), progressIntervalMs: 0 }), 'backup');
      expect(b1.snapshotId).toMatch(/^[0-9a-f]{8,}$/);
      // The corpus: 30 regular files and one symlink. restic counts files only; rustic counts
      // every non-directory node (rustic-rs 0.11.4: 31 here).
      const counted = engine.name === 'rustic' ? 31 : 30;
      expect(b1.totalFilesProcessed).toBe(counted);
      expect(progress.at(-1)).toBe(1);

      const snaps = must(await engine.snapshots(conn), 'snapshots');
      expect(snaps).toHaveLength(1);
      expect(snaps[0]).toMatchObject({ hostname: 'contract-host', tags: ['first'], paths: [corpus] });
      expect(snaps[0]?.id.startsWith(b1.snapshotId)).toBe(true);
      expect(must(await engine.snapshots(conn, { tags: ['nope'] }), 'snapshots filtered')).toHaveLength(0);
      expect(must(await engine.snapshots(conn, { host: 'contract-host' }), 'snapshots by host')).toHaveLength(1);

      // ls: the stream and the pages agree, and the pages cover everything exactly once.
      const all: LsEntry[] = [];
      const stream = engine.ls(conn, { snapshot: b1.snapshotId });
      for await (const e of stream.entries) all.push(e);
      expect(must(await stream.result, 'ls').count).toBe(all.length);
      const files = all.filter((e) => e.type === 'file' && e.path.startsWith(corpus));
      expect(files).toHaveLength(30);
      const paged: LsEntry[] = [];
      let offset: number | null = 0;
      while (offset !== null) {
        const page: LsPage = must(await engine.lsPage(conn, { snapshot: b1.snapshotId, offset, limit: 16 }), 'lsPage');
        expect(page.entries.length).toBeLessThanOrEqual(16);
        paged.push(...page.entries);
        offset = page.nextOffset;
      }
      expect(paged.map((e) => e.path)).toEqual(all.map((e) => e.path));

      const target = path.join(work.path, `restore-${backendName}`);
      const restoreProgress: number[] = [];
      const restored = must(await engine.restore(conn, { snapshot: b1.snapshotId, target }, { onProgress: (p) => restoreProgress.push(p.percentDone) }), 'restore');
      expect(restored.bytesRestored).toBeGreaterThan(0);
      expect(restoreProgress.at(-1)).toBe(1);
      expect(diffTrees(await hashTree(corpus), await hashTree(restoredRoot(target, corpus)))).toEqual([]);

      const stats = must(await engine.stats(conn, { mode: 'restore-size', snapshot: b1.snapshotId }), 'stats');
      expect(stats.totalSize).toBe(restored.bytesRestored);

      await readFile(path.join(corpus, files[0]!.path.slice(corpus.length + 1))); // sanity: the path maps back
      const b2 = must(await engine.backup(conn, { paths: [corpus], tags: ['second'], host: 'contract-host' }), 'backup 2');
      expect(b2.filesUnmodified).toBe(counted);
      const diff = must(await engine.diff(conn, b1.snapshotId, b2.snapshotId), 'diff');
      expect(diff.changes).toEqual([]);
    });

    it('forget with a policy leaves exactly the kept set; prune and check succeed', async () => {
      const conn = await freshRepo('forget');
      const ids: string[] = [];
      for (const tag of ['a', 'keepme', 'b', 'c', 'd']) {
        ids.push(must(await engine.backup(conn, { paths: [corpus], tags: [tag], host: 'h' }), `backup ${tag}`).snapshotId);
      }
      const dry = must(await engine.forget(conn, { policy: { keepLast: 2, keepTags: ['keepme'] }, dryRun: true, groupBy: 'host' }), 'forget --dry-run');
      expect(dry.remove).toHaveLength(2);
      expect(must(await engine.snapshots(conn), 'snapshots')).toHaveLength(5);
      const res = must(await engine.forget(conn, { policy: { keepLast: 2, keepTags: ['keepme'] }, groupBy: 'host' }), 'forget');
      const kept = must(await engine.snapshots(conn), 'snapshots').map((s) => s.tags[0]).sort();
      expect(kept).toEqual(['c', 'd', 'keepme']);
      expect(res.keep.map((s) => s.tags[0]).sort()).toEqual(kept);
      expect(res.remove.map((s) => s.tags[0]).sort()).toEqual(['a', 'b']);
      must(await engine.prune(conn), 'prune');
      expect(must(await engine.check(conn, { readDataSubset: '1/2' }), 'check').errors).toEqual([]);
      const empty = await engine.forget(conn, { policy: {} });
      expect(empty.ok ? 'ran' : empty.error.kind).toBe('invalid_argument');
    });

    it('wrong password -> wrong_password; missing repository -> no_repository', async () => {
      const conn = await freshRepo('errors');
      const wrong = await engine.snapshots({ ...conn, password: 'definitely-wrong' });
      expect(wrong.ok).toBe(false);
      if (!wrong.ok) {
        expect(wrong.error.kind).toBe('wrong_password');
        expect(wrong.error.command).toBe('snapshots');
        expect(wrong.error.message).not.toBe('');
      }
      const missing = await engine.snapshots(backend.repo('never-initialised'));
      expect(missing.ok).toBe(false);
      if (!missing.ok) expect(missing.error.kind).toBe('no_repository');
    });

    // rustic is lock-free: there is no lock to hold or to go stale.
    it.skipIf(!engine.locks)('a lock held by another process -> lock_failed; a stale lock is removed by unlock', async () => {
      const conn = await freshRepo('locks');
      must(await engine.backup(conn, { paths: [corpus] }), 'backup');
      const drip = dripStream();
      const running = engine.backup(conn, { paths: [], stdin: { stream: drip.stream, filename: 'held.bin' } });
      const lock = await waitFor('the backup to take its lock', async () => {
        const l = engine.locks ? await engine.locks(conn) : undefined;
        return l?.ok && l.value.length ? l.value[0] : undefined;
      });
      expect(lock.stale).toBe(false);
      // the holder as restic recorded it: user@host and PID (the Repo tab shows it)
      expect(lock).toMatchObject({ host: os.hostname(), username: os.userInfo().username, exclusive: false });
      expect(Date.now() - Date.parse(lock.time)).toBeLessThan(5 * 60_000);
      const pruned = await engine.prune(conn);
      expect(pruned.ok).toBe(false);
      if (!pruned.ok) {
        expect(pruned.error.kind).toBe('lock_failed');
        expect(pruned.error.lockHolder ?? pruned.error.message).toMatch(/PID \d+|locked/i);
      }
      // Kill the holder without letting it clean up: its lock becomes stale.
      process.kill(lock.pid, 'SIGKILL');
      const killed = await running;
      drip.end();
      expect(killed.ok).toBe(false);
      const stale = must(await engine.locks!(conn), 'locks');
      expect(stale.map((l) => l.stale)).toEqual([true]);
      must(await engine.unlock(conn), 'unlock');
      expect(must(await engine.locks!(conn), 'locks')).toEqual([]);
      expect(must(await engine.check(conn), 'check').errors).toEqual([]);
    });

    it('a cancelled backup reports interrupted and leaves the repository consistent', async () => {
      const conn = await freshRepo('cancel');
      const drip = dripStream(256 * 1024, 10);
      const ac = new AbortController();
      const marker = `cancel-${Date.now()}.bin`;
      const running = engine.backup(conn, { paths: [], stdin: { stream: drip.stream, filename: marker } }, { signal: ac.signal, killGraceMs: 10_000 });
      await waitFor('the backup process', () => Promise.resolve(findProcess(marker)));
      // Let data flow into the backup before it is cancelled mid-write.
      await waitFor('4 MiB read by the backup', () => Promise.resolve(drip.pushed() >= 4 * 1024 * 1024 ? true : undefined));
      ac.abort();
      const r = await running;
      drip.end();
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.kind).toBe('interrupted');
      expect(must(await engine.check(conn), 'check').errors).toEqual([]);
      if (engine.locks) expect(must(await engine.locks(conn), 'locks')).toEqual([]);
    });

    it('key add/remove: a temporary key opens the repository until it is removed', async () => {
      const conn = await freshRepo('keys');
      const temp = 'temporary-restore-pass-19';
      const { keyId } = must(await engine.keyAdd(conn, { newPassword: temp, user: 'restore', host: 'portal' }), 'key add');
      must(await engine.snapshots({ ...conn, password: temp }), 'snapshots with the new key');
      must(await engine.keyRemove(conn, keyId), 'key remove');
      const after = await engine.snapshots({ ...conn, password: temp });
      expect(after.ok ? 'opened' : after.error.kind).toBe('wrong_password');
    });

    it('credentials never appear in argv, output lines, results or errors', async () => {
      const conn = await freshRepo('secrets');
      const lines: OutputLine[] = [];
      const drip = dripStream();
      const marker0 = `stream-${Date.now()}.bin`;
      const running = engine.backup(conn, { paths: [], stdin: { stream: drip.stream, filename: marker0 } }, { onLine: (l) => lines.push(l) });
      const pid = await waitFor('the backup to start', () => Promise.resolve(findProcess(marker0)));
      const cmdline = processInfo(pid)?.cmdline ?? '';
      expect(cmdline).toMatch(/backup/);
      drip.end();
      const results: unknown[] = [await running];
      results.push(await engine.snapshots(conn, undefined, { onLine: (l) => lines.push(l) }));
      results.push(await engine.snapshots({ ...conn, password: 'wrong-password-123' }, undefined, { onLine: (l) => lines.push(l) }));
      if (conn.restPassword) results.push(await engine.snapshots({ ...conn, restPassword: 'wrong-rest-pass' }, undefined, { onLine: (l) => lines.push(l) }));
      if (conn.secretAccessKey) results.push(await engine.snapshots({ ...conn, secretAccessKey: 'wrong-s3-secret-key' }, undefined, { onLine: (l) => lines.push(l) }));
      const everything = [cmdline, JSON.stringify(results), JSON.stringify(lines)].join('\n');
      for (const secret of [...backend.secrets, 'wrong-password-123', 'wrong-rest-pass', 'wrong-s3-secret-key']) {
        expect(everything.includes(secret), `secret ${secret.slice(0, 3)}… leaked`).toBe(false);
      }
      expect(results.length).toBeGreaterThan(2);
    });
  });
}
