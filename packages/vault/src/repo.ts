/** Listing what is in the bucket: snapshots (committed or not) and blobs. */
import { BLOB_PREFIX, blobIdFromKey, SNAPSHOT_ID, snapshotTime } from './layout.js';
import type { ObjectInfo, Storage } from './storage/index.js';

export interface SnapshotListing {
  id: string;
  time: Date;
  /** The metadata object exists: the snapshot is committed. */
  committed: boolean;
  hasRefs: boolean;
  metaSize: number;
  modified: Date;
}

export async function listSnapshots(storage: Storage, indexPrefix: string): Promise<SnapshotListing[]> {
  const m = new Map<string, SnapshotListing>();
  for await (const o of storage.list(indexPrefix)) {
    const name = o.key.slice(indexPrefix.length);
    const mm = /^(.+)\.(age|refs)$/.exec(name);
    if (!mm || !SNAPSHOT_ID.test(mm[1]!)) continue;
    const id = mm[1]!;
    const s = m.get(id) ?? { id, time: snapshotTime(id), committed: false, hasRefs: false, metaSize: 0, modified: o.modified };
    if (mm[2] === 'age') {
      s.committed = true;
      s.metaSize = o.size;
    } else s.hasRefs = true;
    if (o.modified > s.modified) s.modified = o.modified;
    m.set(id, s);
  }
  return [...m.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export async function listBlobs(storage: Storage): Promise<Map<string, ObjectInfo>> {
  const out = new Map<string, ObjectInfo>();
  for await (const o of storage.list(BLOB_PREFIX)) {
    const id = blobIdFromKey(o.key);
    if (id) out.set(id, o);
  }
  return out;
}
