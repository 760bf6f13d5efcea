/**
 * The restorer: decrypts a snapshot's metadata, recreates directories, files and
 * symlinks under a target directory, and fills files chunk by chunk with ranged
 * reads, blob by blob. Every chunk is verified (AEAD + SHA-256); a file with any bad
 * chunk is removed and reported, and all other files are still restored. Modes,
 * mtimes and (as root) ownership are applied last.
 */
import { chmod, chown, lchown, lutimes, mkdir, open, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { X25519Identity } from './age/index.js';
import { BlobReader, type ChunkRef } from './blob-reader.js';
import { metaKey } from './layout.js';
import { fsPath } from './raw-path.js';
import { decodeMeta, type Entry, type SnapshotMeta } from './snapshot.js';
import type { Storage } from './storage/index.js';

export interface RestoreOptions {
  storage: Storage;
  identity: X25519Identity;
  indexPrefix: string;
  snapshotId: string;
  /** Restore only entries this returns a destination for (null = skip). Default: target + absolute path. */
  select?: (e: Entry) => string | null;
  target: string;
  onProgress?: (p: { bytesDone: number; bytesTotal: number; filesDone: number; filesTotal: number }) => void;
}

export interface RestoreResult {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Files that could not be restored intact (removed from the target), with the reason. */
  damaged: Array<{ path: string; error: string }>;
}

export async function loadSnapshot(storage: Storage, identity: X25519Identity, indexPrefix: string, snapshotId: string): Promise<SnapshotMeta> {
  const obj = await storage.get(metaKey(indexPrefix, snapshotId)).catch((e: unknown) => {
    if ((e as { code?: string }).code === 'NotFound') throw new Error(`snapshot ${snapshotId} not found in ${storage.description}`, { cause: e });
    throw e;
  });
  try {
    return decodeMeta(obj, identity);
  } catch (e) {
    throw new Error(`snapshot ${snapshotId}: metadata cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Rejects entries that could escape the target directory: a snapshot can be forged by
 * anyone who can write the bucket (the recipient is public), so paths are untrusted.
 */
function safePath(e: Entry, snap: string): void {
  const p = e.p;
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0') || path.posix.normalize(p) !== p || p.split('/').includes('..')) {
    throw new Error(`snapshot ${snap}: metadata contains an unsafe path ${JSON.stringify(String(p).slice(0, 200))}; refusing to restore`);
  }
  if (!['f', 'd', 'l'].includes(e.t)) throw new Error(`snapshot ${snap}: unknown entry type for ${p}`);
}

function nsToDate(ns: string): Date {
  return new Date(Number(BigInt(ns) / 1_000_000n));
}

export async function restore(o: RestoreOptions & { meta?: SnapshotMeta }): Promise<RestoreResult> {
  const meta = o.meta ?? (await loadSnapshot(o.storage, o.identity, o.indexPrefix, o.snapshotId));
  const select = o.select ?? ((e: Entry) => path.join(o.target, e.p));
  // `at`: the path as the filesystem gets it (raw bytes for a name that is not UTF-8), made once per entry
  const chosen: Array<{ e: Entry; dest: string; at: string | Buffer }> = [];
  for (const e of meta.entries) {
    safePath(e, o.snapshotId);
    const dest = select(e);
    if (dest !== null) chosen.push({ e, dest, at: fsPath(dest) });
  }
  const result: RestoreResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, damaged: [] };
  const damaged = new Map<string, string>();
  if (!o.select) await mkdir(o.target, { recursive: true });
  // 1. Structure. Symlinks come last (step 3b), so no write can be redirected through
  // a link the snapshot itself creates; entry paths are validated (see safePath).
  for (const { e, dest, at } of chosen) {
    if (e.t === 'd') {
      await mkdir(at, { recursive: true, mode: 0o700 });
      result.dirs++;
    } else if (e.t === 'f') {
      await mkdir(fsPath(path.dirname(dest)), { recursive: true, mode: 0o700 });
      await rm(at, { force: true, recursive: false }).catch(() => undefined);
      const fh = await open(at, 'w', 0o600);
      await fh.truncate(e.s ?? 0);
      await fh.close();
      result.files++;
    }
  }
  // 2. Content, grouped by blob so each blob's segments are fetched once.
  const byBlob = new Map<number, Map<number, Array<{ dest: string; pos: number }>>>();
  let bytesTotal = 0;
  for (const { e, dest } of chosen) {
    if (e.t !== 'f') continue;
    let pos = 0;
    for (const ci of e.c ?? []) {
      const c = meta.chunks[ci];
      if (!c) throw new Error(`snapshot ${o.snapshotId}: metadata references unknown chunk ${ci}`);
      let m = byBlob.get(c[1]);
      if (!m) byBlob.set(c[1], (m = new Map()));
      let targets = m.get(ci);
      if (!targets) m.set(ci, (targets = []));
      targets.push({ dest, pos });
      pos += c[4];
      bytesTotal += c[4];
    }
  }
  const reader = new BlobReader(o.storage, o.identity);
  const handles = new Map<string, FileHandle>();
  const handle = async (dest: string): Promise<FileHandle> => {
    let h = handles.get(dest);
    if (!h) {
      if (handles.size >= 64) {
        const [k, old] = handles.entries().next().value as [string, FileHandle];
        handles.delete(k);
        await old.close();
      }
      h = await open(fsPath(dest), 'r+');
      handles.set(dest, h);
    }
    return h;
  };
  let bytesDone = 0;
  let filesDone = 0;
  try {
    for (const [bi, chunkMap] of byBlob) {
      const b = meta.blobs[bi];
      if (!b) throw new Error(`snapshot ${o.snapshotId}: metadata references unknown blob ${bi}`);
      const refs: Array<ChunkRef & { ci: number }> = [...chunkMap.keys()].map((ci) => {
        const c = meta.chunks[ci]!;
        return { ci, hash: c[0], offset: c[2], length: c[3], raw: c[4] };
      });
      await reader.read({ id: b[0], plain: b[1], header: b[2] }, refs, async (c, data) => {
        const targets = chunkMap.get((c as ChunkRef & { ci: number }).ci)!;
        for (const t of targets) {
          if (data instanceof Error) {
            if (!damaged.has(t.dest)) damaged.set(t.dest, data.message);
            continue;
          }
          if (damaged.has(t.dest)) continue;
          await (await handle(t.dest)).write(data, 0, data.length, t.pos);
          bytesDone += data.length;
        }
        o.onProgress?.({ bytesDone, bytesTotal, filesDone, filesTotal: result.files });
      });
    }
  } finally {
    for (const h of handles.values()) await h.close();
  }
  // 3. Damaged files are removed, never left half-written.
  for (const [dest, error] of damaged) {
    await rm(fsPath(dest), { force: true });
    const e = chosen.find((x) => x.dest === dest)!.e;
    result.damaged.push({ path: e.p, error });
    result.files--;
  }
  // 3b. Symlinks.
  for (const { e, dest, at } of chosen) {
    if (e.t !== 'l') continue;
    await mkdir(fsPath(path.dirname(dest)), { recursive: true, mode: 0o700 });
    await rm(at, { force: true, recursive: false }).catch(() => undefined);
    await symlink(fsPath(e.l ?? ''), at);
    result.symlinks++;
  }
  // 4. Metadata, children before parents so directory mtimes stick.
  const root = process.getuid?.() === 0;
  for (const { e, dest, at } of [...chosen].reverse()) {
    if (damaged.has(dest)) continue;
    const mtime = nsToDate(e.mt);
    if (e.t === 'l') {
      if (root) await lchown(at, e.u, e.g).catch(() => undefined);
      await lutimes(at, mtime, mtime).catch(() => undefined);
      continue;
    }
    if (root) await chown(at, e.u, e.g);
    await chmod(at, e.m);
    await utimes(at, mtime, mtime);
    if (e.t === 'f') {
      result.bytes += e.s ?? 0;
      filesDone++;
    }
  }
  return result;
}
