/**
 * Prune without the private key: applies a retention policy to snapshots, then deletes
 * every blob that no remaining snapshot references — learned from the plaintext
 * `.refs` lists of ALL retained snapshots (not just the newest). Safety rules:
 *  - nothing is deleted while a backup holds a fresh lock (checked before and after planning);
 *  - unreferenced blobs younger than the grace period are kept (an interrupted or
 *    concurrent backup may still commit a snapshot that uses them);
 *  - if any retained snapshot's reference list is missing or corrupt, nothing is deleted.
 */
import type { X25519Identity } from './age/index.js';
import { metaKey, refsKey } from './layout.js';
import { liveLocks } from './lock.js';
import { listBlobs, listSnapshots } from './repo.js';
import { applyRetention, type RetentionPolicy } from './retention.js';
import { decodeMeta, decodeRefs } from './snapshot.js';
import type { Storage } from './storage/index.js';

export const DEFAULT_GRACE_MS = 24 * 3_600_000;

export interface PruneOptions {
  storage: Storage;
  indexPrefix: string;
  policy?: RetentionPolicy;
  graceMs?: number;
  dryRun?: boolean;
  /** Optional: lets prune rebuild a missing/corrupt reference list from the metadata. */
  identity?: X25519Identity;
  now?: number;
  log?: (msg: string) => void;
}

export interface PruneResult {
  snapshotsKept: string[];
  snapshotsRemoved: string[];
  blobsDeleted: number;
  bytesDeleted: number;
  /** Unreferenced blobs kept because they are younger than the grace period. */
  blobsInGrace: number;
  blobsKept: number;
}

export class PruneRefusedError extends Error {
  readonly code = 'PRUNE_REFUSED';
}

async function refsOf(o: PruneOptions, id: string): Promise<string[]> {
  try {
    return decodeRefs(await o.storage.get(refsKey(o.indexPrefix, id))).blobs;
  } catch (e) {
    if (!o.identity) {
      throw new PruneRefusedError(`snapshot ${id}: reference list unreadable (${(e as Error).message}); nothing deleted — run prune with VAULTIK_PRIVATE_KEY set to rebuild it from the metadata`, { cause: e });
    }
    const meta = decodeMeta(await o.storage.get(metaKey(o.indexPrefix, id)), o.identity);
    return meta.blobs.map((b) => b[0]);
  }
}

export async function prune(o: PruneOptions): Promise<PruneResult> {
  const now = o.now ?? Date.now();
  const grace = o.graceMs ?? DEFAULT_GRACE_MS;
  const log = o.log ?? (() => undefined);
  await o.storage.probe();
  const busy = async (): Promise<void> => {
    const locks = await liveLocks(o.storage, now);
    if (locks.length > 0) throw new PruneRefusedError(`a backup is running (${locks.join(', ')}); nothing deleted — retry when it has finished`);
  };
  await busy();
  const snaps = await listSnapshots(o.storage, o.indexPrefix);
  const committed = snaps.filter((s) => s.committed);
  const keep = applyRetention(committed, o.policy ?? {});
  const referenced = new Set<string>();
  for (const s of committed) if (keep.has(s.id)) for (const b of await refsOf(o, s.id)) referenced.add(b);
  const blobs = await listBlobs(o.storage);
  const toDelete = [...blobs.values()].filter((b) => {
    const id = b.key.slice(b.key.lastIndexOf('/') + 1);
    return !referenced.has(id);
  });
  const deletable = toDelete.filter((b) => now - b.modified.getTime() >= grace);
  const removed = committed.filter((s) => !keep.has(s.id)).map((s) => s.id);
  const orphans = snaps.filter((s) => !s.committed && now - s.modified.getTime() >= grace).map((s) => s.id);
  const result: PruneResult = {
    snapshotsKept: committed.filter((s) => keep.has(s.id)).map((s) => s.id),
    snapshotsRemoved: removed,
    blobsDeleted: deletable.length,
    bytesDeleted: deletable.reduce((a, b) => a + b.size, 0),
    blobsInGrace: toDelete.length - deletable.length,
    blobsKept: blobs.size - toDelete.length,
  };
  if (o.dryRun) return result;
  await busy();
  for (const id of removed) {
    log(`removing snapshot ${id}`);
    await o.storage.delete(metaKey(o.indexPrefix, id));
    await o.storage.delete(refsKey(o.indexPrefix, id));
  }
  for (const id of orphans) await o.storage.delete(refsKey(o.indexPrefix, id));
  for (const b of deletable) {
    log(`deleting unreferenced blob ${b.key}`);
    await o.storage.delete(b.key);
  }
  return result;
}
