import type { BackupSummary, Snapshot } from '../types.js';

/**
 * Parsers for rustic's `--json` output. rustic prints pretty-printed JSON, and several objects
 * back to back without separators (`backup --json` with several sources), so output is split
 * into top-level JSON values, never into lines. Shapes (cited fixtures in test/fixtures/rustic):
 * - snapshots, rustic >= 0.10: `[{"group_key": {...}, "snapshots": [SnapshotFile...]}]`
 * - snapshots, rustic <= 0.9: `[[group, [SnapshotFile...]]]`
 * - forget: the same grouping, with `{"snapshot": SnapshotFile, "keep": bool, "reasons": [...]}` entries
 * - backup: one SnapshotFile per saved snapshot, its `summary` holds the counters.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Splits text holding zero or more concatenated JSON values; non-JSON text between them is returned separately. */
export function splitJsonValues(text: string): { values: unknown[]; other: string[] } {
  const values: unknown[] = [];
  const other: string[] = [];
  let i = 0;
  while (i < text.length) {
    const start = text.slice(i).search(/[[{]/);
    if (start === -1) {
      if (text.slice(i).trim()) other.push(text.slice(i).trim());
      break;
    }
    if (text.slice(i, i + start).trim()) other.push(text.slice(i, i + start).trim());
    let depth = 0;
    let inStr = false;
    let end = -1;
    for (let j = i + start; j < text.length; j++) {
      const c = text[j];
      if (inStr) {
        if (c === '\\') j++;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          end = j + 1;
          break;
        }
      }
    }
    if (end === -1) {
      other.push(text.slice(i + start).trim());
      break;
    }
    const chunk = text.slice(i + start, end);
    try {
      values.push(JSON.parse(chunk));
    } catch {
      other.push(chunk.trim());
    }
    i = end;
  }
  return { values, other };
}

export function parseRusticSnapshot(v: unknown): Snapshot | undefined {
  if (!isObj(v) || typeof v.id !== 'string') return undefined;
  const s: Snapshot = {
    id: v.id,
    shortId: v.id.slice(0, 8),
    time: typeof v.time === 'string' ? v.time : '',
    hostname: typeof v.hostname === 'string' ? v.hostname : '',
    paths: strs(v.paths),
    tags: strs(v.tags),
  };
  if (typeof v.username === 'string' && v.username) s.username = v.username;
  if (typeof v.parent === 'string') s.parent = v.parent;
  if (typeof v.tree === 'string') s.tree = v.tree;
  return s;
}

/** The members of every group, whichever grouping shape this rustic version prints. */
function groupMembers(v: unknown): unknown[] {
  if (!Array.isArray(v)) return [];
  const out: unknown[] = [];
  for (const g of v) {
    if (isObj(g) && Array.isArray(g.snapshots)) out.push(...(g.snapshots as unknown[]));
    else if (Array.isArray(g) && g.length === 2 && Array.isArray(g[1])) out.push(...(g[1] as unknown[]));
    else if (isObj(g)) out.push(g); // an ungrouped flat list
  }
  return out;
}

export function parseRusticSnapshots(v: unknown): Snapshot[] {
  return groupMembers(v).map(parseRusticSnapshot).filter((s): s is Snapshot => s !== undefined);
}

export function parseRusticForget(v: unknown): { keep: Snapshot[]; remove: Snapshot[] } {
  const out = { keep: [] as Snapshot[], remove: [] as Snapshot[] };
  for (const m of groupMembers(v)) {
    if (!isObj(m)) continue;
    const s = parseRusticSnapshot(m.snapshot);
    if (s) (m.keep === true ? out.keep : out.remove).push(s);
  }
  return out;
}

/** A SnapshotFile printed by `backup --json` -> BackupSummary. */
export function parseRusticBackup(v: unknown): BackupSummary | undefined {
  if (!isObj(v)) return undefined;
  const sum = isObj(v.summary) ? v.summary : {};
  const id = typeof v.id === 'string' ? v.id : undefined;
  if (!id) return undefined;
  return {
    snapshotId: id.slice(0, 8),
    filesNew: num(sum.files_new),
    filesChanged: num(sum.files_changed),
    filesUnmodified: num(sum.files_unmodified),
    dirsNew: num(sum.dirs_new),
    dirsChanged: num(sum.dirs_changed),
    dirsUnmodified: num(sum.dirs_unmodified),
    dataBlobs: num(sum.data_blobs),
    treeBlobs: num(sum.tree_blobs),
    dataAdded: num(sum.data_added_packed ?? sum.data_added),
    totalFilesProcessed: num(sum.total_files_processed),
    totalBytesProcessed: num(sum.total_bytes_processed),
    durationSeconds: num(sum.total_duration ?? sum.backup_duration),
    errors: [],
  };
}

/** `rustic ls` prints each path Rust-Debug-quoted with a trailing space: `"dir/file" `. */
export function parseRusticLsLine(line: string): string | undefined {
  const t = line.trim();
  if (!t) return undefined;
  if (t.startsWith('"')) {
    try {
      return JSON.parse(t) as string;
    } catch {
      return t.slice(1, t.lastIndexOf('"'));
    }
  }
  return t;
}

/** `rustic --version` -> "0.10.2" (prints `rustic 0.10.2` or `rustic v0.10.2-1-g189b17c`). */
export function parseRusticVersion(text: string): string | undefined {
  return /rustic v?(\d+\.\d+\.\d+)/.exec(text)?.[1];
}
