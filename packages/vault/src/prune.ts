/**
 * Prune without the private key, from the trusted machine: applies a retention policy, then
 * deletes blobs no snapshot references — in two phases, so that backups never need a lock the
 * host must rewrite or delete (the host only creates objects; run-markers.ts, condemned.ts):
 *
 *  1. unreferenced blobs older than the grace period are CONDEMNED: listed in
 *     `prune/<id>.condemned`, then the live runs are listed into `prune/<id>.seen`;
 *  2. a condemned list is EXECUTED (this prune or a later one) once every run in its `.seen`
 *     has ended or gone stale: its blobs that are still unreferenced — by the snapshots listed
 *     after that check — are deleted, then the list.
 *
 * Backups read the condemned lists after writing their start marker and never reuse those
 * blobs, so a blob is deleted only when no live run can still reference it. Nothing is deleted
 * if any retained snapshot's reference list is missing or corrupt (without the key to rebuild it).
 */
import type { X25519Identity } from './age/index.js';
import { condemnedBlobs, decodeIdList, encodeIdList, listPruneMarkers } from './condemned.js';
import { newMarkerId, PRUNE_PREFIX, metaKey, refsKey } from './layout.js';
import { listBlobs, listSnapshots } from './repo.js';
import { applyRetention, type RetentionPolicy } from './retention.js';
import { isLive, listRuns, RUN_STALE_MS } from './run-markers.js';
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
  /** A run (or prune) without a marker for this long is dead (default 15 min). */
  staleMs?: number;
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
  /** Condemned blobs whose deletion waits for a backup that was running (a later prune deletes them). */
  blobsDeferred: number;
}

export class PruneRefusedError extends Error {
  readonly code = 'PRUNE_REFUSED';
}

async function refsOf(o: PruneOptions, id: string): Promise<string[]> {
  try {
    return decodeRefs(await o.storage.get(refsKey(o.indexPrefix, id))).blobs;
  } catch (e) {
    if (!o.identity) {
      throw new PruneRefusedError(`snapshot ${id}: reference list unreadable (${(e as Error).message}); nothing deleted — run prune with VAULTIK_AGE_SECRET_KEY set to rebuild it from the metadata`, { cause: e });
    }
    const meta = decodeMeta(await o.storage.get(metaKey(o.indexPrefix, id)), o.identity);
    return meta.blobs.map((b) => b[0]);
  }
}

/** Blob ids referenced by every committed snapshot except `dropped`, listed now. */
async function referencedNow(o: PruneOptions, dropped: Set<string>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of await listSnapshots(o.storage, o.indexPrefix)) {
    if (s.committed && !dropped.has(s.id)) for (const b of await refsOf(o, s.id)) out.add(b);
  }
  return out;
}

export async function prune(o: PruneOptions): Promise<PruneResult> {
  const grace = o.graceMs ?? DEFAULT_GRACE_MS;
  const staleMs = o.staleMs ?? RUN_STALE_MS;
  const log = o.log ?? (() => undefined);
  const s = o.storage;
  await s.probe();
  const pid = newMarkerId();
  const startKey = `${PRUNE_PREFIX}${pid}.start`;
  if (!o.dryRun) await s.put(startKey, Buffer.from('{}'), { createOnly: true });
  // "Now" on the storage's clock (the clock marker ages are measured with).
  const now = (o.dryRun ? null : (await s.head(startKey))?.modified.getTime()) ?? Date.now();
  try {
    const prunes = await listPruneMarkers(s);
    const rival = [...prunes.values()].find((p) => p.id !== pid && p.start && now - p.start.getTime() < staleMs);
    if (rival) throw new PruneRefusedError(`another prune is running (${PRUNE_PREFIX}${rival.id}.start); nothing deleted — retry when it has finished`);

    const snaps = await listSnapshots(s, o.indexPrefix);
    const committed = snaps.filter((x) => x.committed);
    const keep = applyRetention(committed, o.policy ?? {});
    const removed = committed.filter((x) => !keep.has(x.id)).map((x) => x.id);
    const dropped = new Set(removed);
    const referenced = await referencedNow(o, dropped);
    const blobs = await listBlobs(s);
    const unreferenced = [...blobs.entries()].filter(([id]) => !referenced.has(id));
    const old = unreferenced.filter(([, b]) => now - b.modified.getTime() >= grace);
    const result: PruneResult = {
      snapshotsKept: committed.filter((x) => keep.has(x.id)).map((x) => x.id),
      snapshotsRemoved: removed,
      blobsDeleted: 0,
      bytesDeleted: 0,
      blobsInGrace: unreferenced.length - old.length,
      blobsKept: blobs.size - unreferenced.length,
      blobsDeferred: 0,
    };
    if (o.dryRun) {
      result.blobsDeleted = old.length;
      result.bytesDeleted = old.reduce((a, [, b]) => a + b.size, 0);
      return result;
    }
    for (const id of removed) {
      log(`removing snapshot ${id}`);
      await s.delete(metaKey(o.indexPrefix, id));
      await s.delete(refsKey(o.indexPrefix, id));
    }

    // Phase 1: condemn, then record which runs were live right after (write, then list).
    const pending = await condemnedBlobs(s);
    const fresh = old.map(([id]) => id).filter((id) => !pending.has(id));
    if (fresh.length > 0) {
      await s.put(`${PRUNE_PREFIX}${pid}.condemned`, encodeIdList('blob', fresh), { createOnly: true });
      const live = [...(await listRuns(s)).values()].filter((r) => isLive(r, now, staleMs)).map((r) => r.id);
      await s.put(`${PRUNE_PREFIX}${pid}.seen`, encodeIdList('run', live), { createOnly: true });
      prunes.set(pid, { id: pid, condemned: new Date(now), seen: new Date(now) });
    }

    // Phase 2: execute every complete list whose runs have all ended or gone stale.
    const runs = await listRuns(s);
    // A `.refs` without its `.age` is an interrupted commit — or one in progress: a run writes
    // `.refs`, then `.age`, so leftovers go only while no run is live and the `.age` is still absent.
    if (![...runs.values()].some((r) => isLive(r, now, staleMs))) {
      for (const x of snaps) {
        if (x.committed || now - x.modified.getTime() < grace || (await s.head(metaKey(o.indexPrefix, x.id))) !== null) continue;
        await s.delete(refsKey(o.indexPrefix, x.id));
      }
    }
    const lists: string[] = [];
    for (const p of prunes.values()) {
      if (!p.condemned && !p.seen) continue;
      if (!p.seen || !p.condemned) {
        // A prune that died between writing its list and its .seen: its list never became executable.
        if (p.id !== pid) await cleanup(s, p.id);
        continue;
      }
      const seen = decodeIdList('run', await s.get(`${PRUNE_PREFIX}${p.id}.seen`));
      const waiting = seen.filter((r) => {
        const st = runs.get(r);
        return st !== undefined && isLive(st, now, staleMs);
      });
      const ids = decodeIdList('blob', await s.get(`${PRUNE_PREFIX}${p.id}.condemned`));
      if (waiting.length > 0) {
        log(`condemned list ${p.id}: ${ids.length} blob(s) wait for run(s) ${waiting.join(', ')}`);
        result.blobsDeferred += ids.length;
      } else lists.push(p.id);
    }
    if (lists.length > 0) {
      // Snapshots committed by the runs that just ended are listed only now.
      const inUse = await referencedNow(o, dropped);
      const present = await listBlobs(s);
      for (const id of lists) {
        for (const b of decodeIdList('blob', await s.get(`${PRUNE_PREFIX}${id}.condemned`))) {
          const info = present.get(b);
          if (!info || inUse.has(b)) continue;
          log(`deleting unreferenced blob ${info.key}`);
          await s.delete(info.key);
          result.blobsDeleted++;
          result.bytesDeleted += info.size;
        }
        await cleanup(s, id);
      }
    }
    await forgetEndedRuns(s, runs, now, Math.max(grace, staleMs));
    return result;
  } finally {
    if (!o.dryRun) await s.delete(startKey).catch(() => undefined);
  }
}

/** Removes a condemned list (blobs first, then the list: a reader that misses the list finds the blobs gone). */
async function cleanup(s: Storage, id: string): Promise<void> {
  await s.delete(`${PRUNE_PREFIX}${id}.condemned`);
  await s.delete(`${PRUNE_PREFIX}${id}.seen`);
}

/** Markers of runs that ended (or died) longer ago than `age`. */
async function forgetEndedRuns(s: Storage, runs: Awaited<ReturnType<typeof listRuns>>, now: number, age: number): Promise<void> {
  for (const r of runs.values()) {
    if (now - r.last.getTime() < age) continue;
    for (const k of r.keys) await s.delete(k.key);
  }
}
