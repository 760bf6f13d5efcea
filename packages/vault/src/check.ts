/**
 * Verifies the repository. Without the private key: every committed snapshot has an
 * intact reference list, its metadata object matches the SHA-256 recorded there, and
 * every referenced blob exists and (with readData) hashes to its name. With the key:
 * metadata decrypts, and every damaged blob is read chunk by chunk to name the
 * affected files.
 */
import { createHash } from 'node:crypto';
import type { X25519Identity } from './age/index.js';
import { BlobReader } from './blob-reader.js';
import { blobKey, metaKey, refsKey } from './layout.js';
import { listBlobs, listSnapshots } from './repo.js';
import { decodeMeta, decodeRefs, type SnapshotMeta } from './snapshot.js';
import type { Storage } from './storage/index.js';

export interface CheckProblem {
  /** refs | metadata | blob-missing | blob-corrupt */
  kind: 'refs' | 'metadata' | 'blob-missing' | 'blob-corrupt';
  snapshot?: string;
  object: string;
  message: string;
  /** Files affected (only when the private key was available). */
  files?: string[];
}

export interface CheckOptions {
  storage: Storage;
  indexPrefix: string;
  identity?: X25519Identity;
  /** Download every referenced blob and verify its hash (default true). */
  readData?: boolean;
  onProgress?: (msg: string) => void;
}

export interface CheckResult {
  snapshots: number;
  blobsChecked: number;
  problems: CheckProblem[];
}

export async function check(o: CheckOptions): Promise<CheckResult> {
  await o.storage.probe();
  const problems: CheckProblem[] = [];
  const snaps = (await listSnapshots(o.storage, o.indexPrefix)).filter((s) => s.committed);
  const blobs = await listBlobs(o.storage);
  const usedBy = new Map<string, string[]>();
  const metas = new Map<string, SnapshotMeta>();
  for (const s of snaps) {
    const metaObj = await o.storage.get(metaKey(o.indexPrefix, s.id));
    let blobIds: string[] | null = null;
    try {
      const refs = decodeRefs(await o.storage.get(refsKey(o.indexPrefix, s.id)));
      blobIds = refs.blobs;
      if (createHash('sha256').update(metaObj).digest('hex') !== refs.metaSha256) {
        problems.push({ kind: 'metadata', snapshot: s.id, object: metaKey(o.indexPrefix, s.id), message: 'metadata object does not match the hash in its reference list (corrupted)' });
      }
    } catch (e) {
      problems.push({ kind: 'refs', snapshot: s.id, object: refsKey(o.indexPrefix, s.id), message: (e as Error).message });
    }
    if (o.identity) {
      try {
        const meta = decodeMeta(metaObj, o.identity);
        metas.set(s.id, meta);
        blobIds ??= meta.blobs.map((b) => b[0]);
      } catch (e) {
        if (!problems.some((p) => p.kind === 'metadata' && p.snapshot === s.id)) {
          problems.push({ kind: 'metadata', snapshot: s.id, object: metaKey(o.indexPrefix, s.id), message: (e as Error).message });
        }
      }
    }
    for (const b of blobIds ?? []) usedBy.set(b, [...(usedBy.get(b) ?? []), s.id]);
  }
  const bad = new Map<string, CheckProblem>();
  let checked = 0;
  for (const [id, snapIds] of usedBy) {
    const info = blobs.get(id);
    if (!info) {
      bad.set(id, { kind: 'blob-missing', object: blobKey(id), message: `referenced by ${snapIds.join(', ')} but missing` });
      continue;
    }
    if (o.readData === false) continue;
    const body = await o.storage.get(blobKey(id));
    checked++;
    o.onProgress?.(`checked ${checked}/${usedBy.size} blobs`);
    if (createHash('sha256').update(body).digest('hex') !== id) bad.set(id, { kind: 'blob-corrupt', object: blobKey(id), message: 'content does not match its SHA-256 name' });
  }
  // Name the affected files when the metadata is readable.
  for (const [id, p] of bad) {
    const files = new Set<string>();
    for (const [snap, meta] of metas) {
      const bi = meta.blobs.findIndex((b) => b[0] === id);
      if (bi < 0) continue;
      const b = meta.blobs[bi]!;
      const inBlob = meta.chunks.map((c, ci) => ({ c, ci })).filter((x) => x.c[1] === bi);
      const badChunks = new Set<number>();
      if (p.kind === 'blob-missing') inBlob.forEach((x) => badChunks.add(x.ci));
      else {
        const reader = new BlobReader(o.storage, o.identity!);
        const refs = inBlob.map((x) => ({ ci: x.ci, hash: x.c[0], offset: x.c[2], length: x.c[3], raw: x.c[4] }));
        await reader.read({ id, plain: b[1], header: b[2] }, refs, (c, data) => {
          if (data instanceof Error) badChunks.add((c as (typeof refs)[number]).ci);
        });
      }
      for (const e of meta.entries) if (e.c?.some((ci) => badChunks.has(ci))) files.add(`${snap}:${e.p}`);
    }
    if (metas.size > 0) p.files = [...files].sort();
    problems.push(p);
  }
  return { snapshots: snaps.length, blobsChecked: checked, problems };
}
