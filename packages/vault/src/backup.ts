/**
 * The archiver: walk -> change detection (local index) -> chunk workers -> packer ->
 * snapshot metadata. A snapshot is committed only after every blob it references has
 * been uploaded, so an interrupted backup leaves at most unreferenced blobs behind
 * (which the next run reuses through the local index, and prune removes after the grace period).
 */
import { lstat, readlink } from 'node:fs/promises';
import os from 'node:os';
import { createHash } from 'node:crypto';
import { chunkerParams } from './chunker.js';
import { ConfigError, type SnapshotSource, type VaultConfig } from './config.js';
import { LocalIndex, type ChunkLocation, type FileState } from './index-db.js';
import { BLOB_PREFIX, blobIdFromKey, metaKey, newSnapshotId, refsKey } from './layout.js';
import { condemnedBlobs } from './condemned.js';
import { acquireLocalLock } from './local-lock.js';
import { startRun, type LeaseTiming, type RunLease } from './run-markers.js';
import { Packer, type OpenBlob } from './packer.js';
import { ChunkPool } from './pipeline/pool.js';
import type { WorkerMessage } from './pipeline/protocol.js';
import { encodeMeta, encodeRefs, type Entry, type SnapshotMeta } from './snapshot.js';
import type { Storage } from './storage/index.js';
import { Excluder } from './exclude.js';
import { decodeName, fsPath } from './raw-path.js';
import { walk } from './walk.js';

export interface BackupProgress {
  phase: 'scan' | 'upload' | 'commit' | 'done';
  filesTotal: number;
  filesDone: number;
  bytesTotal: number;
  bytesDone: number;
  bytesUploaded: number;
  elapsedMs: number;
}

export interface BackupResult {
  snapshotId: string;
  /** The config's snapshot name ('' for the seed form's source_dirs). */
  name: string;
  files: number;
  dirs: number;
  bytes: number;
  /** Files whose content was read (new or changed). */
  filesRead: number;
  bytesRead: number;
  chunksNew: number;
  blobsUploaded: number;
  bytesUploaded: number;
  /** Paths that could not be read (skipped). */
  errors: Array<{ path: string; error: string }>;
  elapsedMs: number;
}

export interface BackupOptions {
  storage: Storage;
  onProgress?: (p: BackupProgress) => void;
  /** Chunk worker threads (default: one per core, at most 4). */
  workers?: number;
  /**
   * Aborts the backup: it rejects with BackupAbortedError and commits no snapshot (blobs already
   * uploaded stay unreferenced; the next backup reuses them, prune removes them after the grace).
   */
  signal?: AbortSignal;
  /** Which of the config's named snapshots to make; needed only when it has more than one. */
  snapshot?: string;
  /** Run-marker timing (tests); defaults: a marker every 5 min, stale after 15. */
  lease?: LeaseTiming;
}

/** The backup was aborted through `BackupOptions.signal`; nothing was committed. */
export class BackupAbortedError extends Error {
  readonly code = 'ABORTED';
  constructor() {
    super('backup cancelled; no snapshot was committed');
  }
}

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BackupAbortedError();
}

type Loc = ChunkLocation | { open: OpenBlob; offset: number; length: number; raw: number };

interface FileWork {
  entry: Entry;
  st: FileState;
  hashes: Buffer[];
}

function pickSet(cfg: VaultConfig, name: string | undefined): SnapshotSource {
  if (name === undefined) {
    if (cfg.snapshots.length === 1) return cfg.snapshots[0]!;
    throw new ConfigError(`snapshots: the config names ${cfg.snapshots.length} snapshots; choose one (or use backupAll)`);
  }
  const set = cfg.snapshots.find((s) => s.name === name);
  if (!set) throw new ConfigError(`snapshots: no snapshot named '${name}' in the config`);
  return set;
}

/** Makes one snapshot of each of the config's named snapshots, in order; stops at the first failure. */
export async function backupAll(cfg: VaultConfig, opts: Omit<BackupOptions, 'snapshot'>): Promise<BackupResult[]> {
  const out: BackupResult[] = [];
  for (const s of cfg.snapshots) out.push(await backup(cfg, { ...opts, snapshot: s.name }));
  return out;
}

/** Runs one backup and commits one snapshot. Rejects (committing nothing) on storage errors. */
export async function backup(cfg: VaultConfig, opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const storage = opts.storage;
  const set = pickSet(cfg, opts.snapshot);
  for (const dir of set.paths) {
    const st = await lstat(dir).catch(() => null);
    if (!st) throw new Error(`${set.name ? `snapshots.${set.name}.paths` : 'source_dirs'}: ${dir} does not exist or is not accessible; nothing backed up`);
  }
  await storage.probe();
  const local = acquireLocalLock(cfg.indexPath);
  let index: LocalIndex | undefined;
  let lease: RunLease | undefined;
  let snapshotId: string | undefined;
  try {
    index = new LocalIndex(cfg.indexPath, `${storage.description}|${cfg.ageRecipients.map((r) => r.toString()).sort().join(',')}`);
    // The run marker goes up BEFORE anything is read: a prune either sees this run or wrote its
    // condemned list before we read the lists (docs/vault-format.md, "Backups and prune").
    lease = await startRun(storage, opts.lease);
    const condemned = await condemnedBlobs(storage);
    // Never trust the cache over the bucket: forget blobs that are gone or condemned by a prune.
    const present = new Set<string>();
    for await (const o of storage.list(BLOB_PREFIX)) {
      const id = blobIdFromKey(o.key);
      if (id && !condemned.has(id)) present.add(id);
    }
    index.reconcile(present);
    const result = await run(cfg, set, storage, index, lease, opts, started);
    snapshotId = result.snapshotId;
    return result;
  } finally {
    index?.close();
    await lease?.finish(snapshotId ? { snapshot: snapshotId } : { error: 'no snapshot committed' });
    local.release();
  }
}

async function run(cfg: VaultConfig, set: SnapshotSource, storage: Storage, index: LocalIndex, lease: RunLease, opts: BackupOptions, started: number): Promise<BackupResult> {
  const progress: BackupProgress = { phase: 'scan', filesTotal: 0, filesDone: 0, bytesTotal: 0, bytesDone: 0, bytesUploaded: 0, elapsedMs: 0 };
  let lastEmit = 0;
  const emit = (force = false): void => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastEmit < 250)) return;
    lastEmit = now;
    progress.elapsedMs = now - started;
    opts.onProgress({ ...progress });
  };
  const errors: BackupResult['errors'] = [];
  const entries: Entry[] = [];
  const toRead: FileWork[] = [];
  const unchanged: FileWork[] = [];
  const excluder = new Excluder([...cfg.exclude, ...set.exclude]);
  for await (const { path: p, st } of walk(set.paths, excluder, (p, e) => errors.push({ path: p, error: (e as NodeJS.ErrnoException).code ?? e.message }))) {
    stopIfAborted(opts.signal);
    const base = { p, m: Number(st.mode & 0o7777n), u: Number(st.uid), g: Number(st.gid), mt: String(st.mtimeNs) };
    if (st.isDirectory()) entries.push({ ...base, t: 'd' });
    else if (st.isSymbolicLink()) {
      try {
        entries.push({ ...base, t: 'l', l: decodeName(await readlink(fsPath(p), { encoding: 'buffer' })) });
      } catch (e) {
        errors.push({ path: p, error: (e as Error).message });
      }
    } else if (st.isFile()) {
      const entry: Entry = { ...base, t: 'f', s: Number(st.size), c: [] };
      const fst: FileState = { size: Number(st.size), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, inode: st.ino };
      const known = index.unchangedFile(p, fst);
      if (known && known.every((h) => index.chunk(h) !== null)) unchanged.push({ entry, st: fst, hashes: known });
      else toRead.push({ entry, st: fst, hashes: [] });
      entries.push(entry);
      progress.filesTotal++;
      progress.bytesTotal += fst.size;
    }
  }
  for (const w of unchanged) {
    progress.filesDone++;
    progress.bytesDone += w.st.size;
  }
  progress.phase = 'upload';
  emit(true);

  const locs = new Map<string, Loc>();
  const lookup = (h: Buffer): Loc | null => locs.get(h.toString('hex')) ?? index.chunk(h);
  const packer = new Packer({
    recipients: cfg.ageRecipients,
    storage,
    target: Math.min(cfg.packSize, cfg.blobSizeLimit),
    onUploaded: (blob, chunks) => {
      index.addBlob(blob, chunks);
      progress.bytesUploaded += blob.size;
    },
  });
  let chunksNew = 0;
  let bytesRead = 0;
  const failed = new Set<Entry>();
  if (toRead.length > 0) {
    const r = await readFiles(cfg, toRead, opts.workers, async (work, hash, raw, data) => {
      stopIfAborted(opts.signal);
      progress.bytesDone += raw;
      bytesRead += raw;
      work.hashes.push(hash);
      const hex = hash.toString('hex');
      if (!locs.has(hex) && index.chunk(hash) === null) {
        const blob = await packer.add(hash, raw, data);
        const packed = blob.chunks[blob.chunks.length - 1]!;
        locs.set(hex, { open: blob, offset: packed.offset, length: packed.length, raw });
        chunksNew++;
      }
      emit();
    }, (work, err) => {
      errors.push({ path: work.entry.p, error: err });
      failed.add(work.entry);
    }, () => {
      progress.filesDone++;
      emit();
    });
    if (r) throw r;
  }
  stopIfAborted(opts.signal);
  await packer.flush();

  stopIfAborted(opts.signal);
  progress.phase = 'commit';
  emit(true);
  const snapshotId = newSnapshotId();
  const meta = buildMeta(snapshotId, set, failed.size ? entries.filter((e) => !failed.has(e)) : entries, [...unchanged, ...toRead], lookup, index);
  // A concurrent prune may have removed an old blob this snapshot reuses: verify before committing.
  const stillThere = new Set<string>();
  for await (const o of storage.list(BLOB_PREFIX)) {
    const id = blobIdFromKey(o.key);
    if (id) stillThere.add(id);
  }
  const vanished = meta.blobs.filter((b) => !stillThere.has(b[0]));
  if (vanished.length > 0) {
    index.reconcile(stillThere);
    throw new Error(`${vanished.length} blob(s) vanished from the bucket during the backup (concurrent prune?); nothing committed — run the backup again`);
  }
  stopIfAborted(opts.signal);
  lease.assertHeld();
  const metaObj = encodeMeta(meta, cfg.ageRecipients);
  const refs = encodeRefs({ snapshot: snapshotId, metaSha256: createHash('sha256').update(metaObj).digest('hex'), blobs: meta.blobs.map((b) => b[0]) });
  await storage.put(refsKey(cfg.indexPrefix, snapshotId), refs, { createOnly: true });
  await storage.put(metaKey(cfg.indexPrefix, snapshotId), metaObj, { createOnly: true });
  // Unchanged files keep their rows; only files read in this run are (re)recorded.
  index.putFiles(toRead.filter((w) => !failed.has(w.entry)).map((w) => ({ path: w.entry.p, st: { ...w.st, size: w.entry.s ?? w.st.size }, chunks: w.hashes })));
  progress.phase = 'done';
  emit(true);
  return {
    snapshotId,
    name: set.name,
    files: progress.filesTotal - failed.size,
    dirs: entries.filter((e) => e.t === 'd').length,
    bytes: entries.reduce((a, e) => a + (failed.has(e) ? 0 : (e.s ?? 0)), 0),
    filesRead: toRead.length,
    bytesRead,
    chunksNew,
    blobsUploaded: packer.blobsUploaded,
    bytesUploaded: packer.bytesUploaded + refs.length + metaObj.length,
    errors,
    elapsedMs: Date.now() - started,
  };
}

function buildMeta(id: string, set: SnapshotSource, entries: Entry[], works: FileWork[], lookup: (h: Buffer) => Loc | null, index: LocalIndex): SnapshotMeta {
  const blobs: SnapshotMeta['blobs'] = [];
  const blobIdx = new Map<string, number>();
  const chunks: SnapshotMeta['chunks'] = [];
  const chunkIdx = new Map<string, number>();
  const byEntry = new Map<Entry, FileWork>(works.map((w) => [w.entry, w]));
  for (const e of entries) {
    const w = byEntry.get(e);
    if (!w) continue;
    e.c = w.hashes.map((h) => {
      const hex = h.toString('hex');
      let ci = chunkIdx.get(hex);
      if (ci === undefined) {
        const loc = lookup(h);
        if (!loc) throw new Error(`internal: chunk ${hex.slice(0, 12)} of ${e.p} has no location`);
        const blobId = 'open' in loc ? loc.open.id : loc.blob;
        if (!blobId) throw new Error('internal: chunk in a blob that was never closed');
        let bi = blobIdx.get(blobId);
        if (bi === undefined) {
          const rec = index.blob(blobId);
          if (!rec) throw new Error(`internal: blob ${blobId.slice(0, 12)} not recorded`);
          bi = blobs.length;
          blobs.push([blobId, rec.plain, rec.header, rec.size]);
          blobIdx.set(blobId, bi);
        }
        ci = chunks.length;
        chunks.push([hex, bi, loc.offset, loc.length, loc.raw]);
        chunkIdx.set(hex, ci);
      }
      return ci;
    });
  }
  return { v: 1, id, time: new Date().toISOString(), hostname: os.hostname(), ...(set.name ? { name: set.name } : {}), sources: set.paths, blobs, chunks, entries };
}

/** Feeds files through the worker pool; resolves with the first fatal error, or null. */
async function readFiles(
  cfg: VaultConfig,
  files: FileWork[],
  workers: number | undefined,
  onChunk: (w: FileWork, hash: Buffer, raw: number, data: Uint8Array) => Promise<void>,
  onFileError: (w: FileWork, err: string) => void,
  onFileDone: (w: FileWork) => void,
): Promise<Error | null> {
  const queue: WorkerMessage[] = [];
  let wake: (() => void) | null = null;
  const pool = new ChunkPool(chunkerParams(cfg.chunkSize), cfg.compressionLevel, (m) => {
    queue.push(m);
    wake?.();
  }, workers === undefined ? {} : { workers });
  const byJob = new Map<number, FileWork>();
  let next = 0;
  let pending = 0;
  const feed = (): void => {
    while (next < files.length && pool.hasCapacity) {
      const w = files[next++]!;
      byJob.set(pool.submit(w.entry.p, w.st.size), w);
      pending++;
    }
  };
  try {
    feed();
    while (pending > 0) {
      if (pool.error) return pool.error;
      const m = queue.shift();
      if (!m) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((r) => {
          wake = r;
          timer = setTimeout(r, 500); // re-check pool.error even if no message arrives
        });
        clearTimeout(timer);
        wake = null;
        continue;
      }
      const w = byJob.get(m.job)!;
      if (m.type === 'chunk') {
        await onChunk(w, Buffer.from(m.hash), m.raw, m.data);
        pool.release(m.job, m.cost);
      } else {
        pending--;
        byJob.delete(m.job);
        pool.forget(m.job);
        if (m.error) onFileError(w, m.error);
        else {
          w.entry.s = m.size;
          onFileDone(w);
        }
        feed();
      }
    }
    return null;
  } finally {
    await pool.close();
  }
}
