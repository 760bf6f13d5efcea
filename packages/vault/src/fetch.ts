/**
 * Fetches one file (or one directory subtree) from a snapshot, downloading only the
 * STREAM segments that hold its chunks.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadSnapshot, restore, type RestoreOptions, type RestoreResult } from './restore.js';
import type { Entry } from './snapshot.js';

export interface FetchOptions extends Omit<RestoreOptions, 'select' | 'target'> {
  /** Path as backed up (absolute; a missing leading `/` is added). */
  filepath: string;
  /** Destination file, or an existing directory to put it in. */
  target: string;
}

export async function fetchPath(o: FetchOptions): Promise<RestoreResult & { entry: Entry }> {
  const want = path.posix.normalize(o.filepath.startsWith('/') ? o.filepath : `/${o.filepath}`).replace(/(.)\/+$/, '$1');
  const meta = await loadSnapshot(o.storage, o.identity, o.indexPrefix, o.snapshotId);
  const entry = meta.entries.find((e) => e.p === want);
  if (!entry) throw new Error(`${want} is not in snapshot ${o.snapshotId}`);
  const targetIsDir = await stat(o.target).then((s) => s.isDirectory(), () => false);
  const base = targetIsDir ? path.join(o.target, path.posix.basename(want)) : o.target;
  const select = (e: Entry): string | null => {
    if (e.p === want) return base;
    if (entry.t === 'd' && e.p.startsWith(`${want === '/' ? '' : want}/`)) return path.join(base, e.p.slice(want.length));
    return null;
  };
  const r = await restore({ ...o, meta, target: base, select });
  return { ...r, entry };
}
