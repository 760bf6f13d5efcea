import type { BackupSummary, DiffItem, DiffResult, DiffSideStats, LsEntry, Progress, RepoStatsResult, Snapshot } from '../types.js';

/**
 * Parsers for restic's JSON output. Shapes checked against restic 0.14.0 run here and restic's
 * doc/075_scripting.rst; fields that appeared in later versions are read when present.
 */

type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export function parseSnapshot(v: unknown): Snapshot | undefined {
  if (!isObj(v) || typeof v.id !== 'string') return undefined;
  const s: Snapshot = {
    id: v.id,
    shortId: str(v.short_id, v.id.slice(0, 8)),
    time: str(v.time),
    hostname: str(v.hostname),
    paths: strs(v.paths),
    tags: strs(v.tags),
  };
  if (typeof v.username === 'string') s.username = v.username;
  if (typeof v.parent === 'string') s.parent = v.parent;
  if (typeof v.tree === 'string') s.tree = v.tree;
  return s;
}

export function parseSnapshotList(v: unknown): Snapshot[] {
  return Array.isArray(v) ? v.map(parseSnapshot).filter((s): s is Snapshot => s !== undefined) : [];
}

/** restic `backup --json` status message (message_type "status"). */
/** `elapsedFallback`: restic omits seconds_elapsed while it is 0 and in early status lines. */
export function statusToProgress(m: Obj, throughput: number | null, elapsedFallback = 0): Progress {
  const totalBytes = typeof m.total_bytes === 'number' ? m.total_bytes : null;
  const totalFiles = typeof m.total_files === 'number' ? m.total_files : null;
  return {
    percentDone: Math.min(1, Math.max(0, num(m.percent_done))),
    filesDone: num(m.files_done),
    totalFiles,
    bytesDone: num(m.bytes_done),
    totalBytes,
    etaSeconds: typeof m.seconds_remaining === 'number' ? m.seconds_remaining : null,
    throughputBps: throughput,
    elapsedSeconds: num(m.seconds_elapsed, elapsedFallback),
    currentFiles: strs(m.current_files),
    errorCount: num(m.error_count),
  };
}

/** restic `backup --json` summary message. */
export function parseBackupSummary(m: Obj, errors: string[]): BackupSummary {
  return {
    snapshotId: str(m.snapshot_id),
    filesNew: num(m.files_new),
    filesChanged: num(m.files_changed),
    filesUnmodified: num(m.files_unmodified),
    dirsNew: num(m.dirs_new),
    dirsChanged: num(m.dirs_changed),
    dirsUnmodified: num(m.dirs_unmodified),
    dataBlobs: num(m.data_blobs),
    treeBlobs: num(m.tree_blobs),
    dataAdded: num(m.data_added),
    totalFilesProcessed: num(m.total_files_processed),
    totalBytesProcessed: num(m.total_bytes_processed),
    durationSeconds: num(m.total_duration),
    errors,
  };
}

/** restic `backup --json` error message: `{"message_type":"error","error":{..},"during":"archival","item":"/x"}`. */
export function describeBackupError(m: Obj): string {
  const e = m.error;
  let detail: string;
  if (typeof e === 'string') detail = e;
  else if (isObj(e) && typeof e.message === 'string') detail = e.message;
  else if (isObj(e) && typeof e.Op === 'string') detail = `${e.Op} ${str(e.Path)}: ${String(e.Err ?? '')}`.trim();
  else detail = JSON.stringify(e ?? null);
  return `${str(m.during, 'error')}: ${str(m.item)}: ${detail}`;
}

const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_STICKY = 2 ** 20;

/** Go os.FileMode -> POSIX permission bits (0o7777). */
export function goModeToPosix(mode: number): number {
  let m = mode & 0o777;
  if (Math.floor(mode / GO_SETUID) % 2) m |= 0o4000;
  if (Math.floor(mode / GO_SETGID) % 2) m |= 0o2000;
  if (Math.floor(mode / GO_STICKY) % 2) m |= 0o1000;
  return m;
}
export { GO_MODE_DIR, GO_MODE_SYMLINK };

const TYPES: Record<string, LsEntry['type']> = { file: 'file', dir: 'dir', symlink: 'symlink', dev: 'dev', chardev: 'chardev', fifo: 'fifo', socket: 'socket' };

/** One `ls --json` line. The first line (struct_type "snapshot") and anything else return undefined. */
export function parseLsNode(v: unknown): LsEntry | undefined {
  if (!isObj(v) || (v.struct_type !== undefined && v.struct_type !== 'node') || typeof v.path !== 'string') return undefined;
  const e: LsEntry = { name: str(v.name), path: v.path, type: TYPES[str(v.type)] ?? 'other' };
  if (typeof v.size === 'number') e.size = v.size;
  if (typeof v.mode === 'number') e.mode = goModeToPosix(v.mode);
  if (typeof v.mtime === 'string') e.mtime = v.mtime;
  if (typeof v.uid === 'number') e.uid = v.uid;
  if (typeof v.gid === 'number') e.gid = v.gid;
  return e;
}

export function parseStats(v: unknown, mode: string): RepoStatsResult | undefined {
  if (!isObj(v)) return undefined;
  const r: RepoStatsResult = { totalSize: num(v.total_size), totalFileCount: num(v.total_file_count) };
  if (mode === 'raw-data') r.rawSize = num(v.total_size);
  if (typeof v.total_uncompressed_size === 'number') r.uncompressedSize = v.total_uncompressed_size;
  if (typeof v.total_blob_count === 'number') r.blobCount = v.total_blob_count;
  if (typeof v.snapshots_count === 'number') r.snapshotsCount = v.snapshots_count;
  return r;
}

/** Accumulates `diff --json` lines: "change" messages and the final "statistics" message. */
export function addDiffLine(acc: DiffResult, v: unknown): void {
  if (!isObj(v)) return;
  if (v.message_type === 'change') acc.changes.push({ path: str(v.path), modifier: str(v.modifier) });
  else if (v.message_type === 'statistics') {
    const { message_type: _t, ...rest } = v;
    acc.stats = rest;
  }
}

/** One line of `restic diff --json`: a change or the closing statistics; undefined for anything else. */
export function parseDiffItem(v: unknown): DiffItem | undefined {
  if (!isObj(v)) return undefined;
  if (v.message_type === 'change' && typeof v.path === 'string' && typeof v.modifier === 'string') return { kind: 'change', path: v.path, modifier: v.modifier };
  if (v.message_type !== 'statistics') return undefined;
  const side = (x: unknown): DiffSideStats => {
    const o = isObj(x) ? x : {};
    return { files: num(o.files), dirs: num(o.dirs), others: num(o.others), bytes: num(o.bytes) };
  };
  return { kind: 'statistics', changedFiles: num(v.changed_files), added: side(v.added), removed: side(v.removed) };
}

/**
 * restic `forget --json`: `[{tags,host,paths,keep:[..]|null,remove:[..]|null,reasons:[..]}]`.
 * `reasons[i]` explains `keep[i]` (restic 0.14 leaves the id out of the reason's snapshot, so
 * they are paired by position, checked by time).
 */
export function parseForgetGroups(v: unknown): { keep: Snapshot[]; remove: Snapshot[]; reasons: Record<string, string[]> } {
  const out = { keep: [] as Snapshot[], remove: [] as Snapshot[], reasons: {} as Record<string, string[]> };
  if (!Array.isArray(v)) return out;
  for (const g of v) {
    if (!isObj(g)) continue;
    const keep = parseSnapshotList(g.keep);
    const reasons = Array.isArray(g.reasons) ? g.reasons : [];
    keep.forEach((s, i) => {
      const r: unknown = reasons[i];
      if (!isObj(r)) return;
      const time = isObj(r.snapshot) ? r.snapshot.time : undefined;
      if (time !== undefined && time !== s.time) return;
      out.reasons[s.id] = strs(r.matches);
    });
    out.keep.push(...keep);
    out.remove.push(...parseSnapshotList(g.remove));
  }
  return out;
}

/** `restic version` -> "0.14.0". */
export function parseVersion(text: string): string | undefined {
  return /restic (\d+\.\d+\.\d+)/.exec(text)?.[1];
}

export function versionAtLeast(version: string, want: string): boolean {
  const a = version.split('.').map(Number);
  const b = want.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}
