/**
 * Condemned-blob lists: the trusted prune's two-phase deletion, readable by write-only hosts.
 *
 *   prune/<id>.start      the prune is running (one at a time; removed when it ends)
 *   prune/<id>.condemned  blob ids the prune will delete once every run it saw has ended
 *   prune/<id>.seen       the runs that were live right after `.condemned` was written
 *
 * A backup reads every `.condemned` list after writing its own start marker and never reuses
 * a blob named there. Either the run saw the list, or the prune saw the run (both write, then
 * list): so a blob is deleted only when no live run can still reference it. docs/vault-format.md.
 */
import { createHash } from 'node:crypto';
import { MARKER_ID, PRUNE_PREFIX } from './layout.js';
import { StorageError, type Storage } from './storage/index.js';

const MAGIC = 'vault-condemned v1';

export function encodeIdList(kind: 'blob' | 'run', ids: Iterable<string>): Buffer {
  const body = `${MAGIC}\n${[...ids].sort().map((b) => `${kind} ${b}\n`).join('')}`;
  return Buffer.from(`${body}sha256 ${createHash('sha256').update(body).digest('hex')}\n`);
}

/** Parses a list written by encodeIdList; throws if its checksum or syntax is wrong. */
export function decodeIdList(kind: 'blob' | 'run', buf: Buffer): string[] {
  const m = /^([\s\S]*)sha256 ([0-9a-f]{64})\n$/.exec(buf.toString('utf8'));
  if (!m || createHash('sha256').update(m[1]!).digest('hex') !== m[2]) throw new Error('list is corrupted (checksum mismatch)');
  const lines = m[1]!.split('\n').filter(Boolean);
  if (lines[0] !== MAGIC) throw new Error('list: unknown format');
  return lines.slice(1).map((l) => {
    const [k, v] = l.split(' ');
    if (k !== kind || !v) throw new Error(`list: bad line '${l.slice(0, 80)}'`);
    return v;
  });
}

export interface PruneMarkers {
  id: string;
  start?: Date;
  condemned?: Date;
  seen?: Date;
}

export async function listPruneMarkers(storage: Storage): Promise<Map<string, PruneMarkers>> {
  const out = new Map<string, PruneMarkers>();
  for await (const o of storage.list(PRUNE_PREFIX)) {
    const m = /^prune\/([^.]+)\.(start|condemned|seen)$/.exec(o.key);
    if (!m || !MARKER_ID.test(m[1]!)) continue;
    const p = out.get(m[1]!) ?? { id: m[1]! };
    p[m[2] as 'start' | 'condemned' | 'seen'] = o.modified;
    out.set(p.id, p);
  }
  return out;
}

/**
 * Every blob id named by a condemned list (for a backup: blobs it must not reuse). A list that
 * disappears while being read was executed: its blobs are gone before the list is removed.
 */
export async function condemnedBlobs(storage: Storage): Promise<Set<string>> {
  const out = new Set<string>();
  for (const p of (await listPruneMarkers(storage)).values()) {
    if (!p.condemned) continue;
    let buf: Buffer;
    try {
      buf = await storage.get(`${PRUNE_PREFIX}${p.id}.condemned`);
    } catch (e) {
      if (e instanceof StorageError && e.code === 'NotFound') continue;
      throw new StorageError(e instanceof StorageError ? e.code : 'Failed', `cannot read the prune's list ${PRUNE_PREFIX}${p.id}.condemned (a backup needs read access to ${PRUNE_PREFIX}): ${(e as Error).message}`, { cause: e });
    }
    for (const id of decodeIdList('blob', buf)) out.add(id);
  }
  return out;
}
