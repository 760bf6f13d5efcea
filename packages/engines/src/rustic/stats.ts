import type { RepoStatsResult } from '../types.js';
import { isObj } from '../restic/parse.js';
import { groupMembers } from './parse.js';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * restic's `stats --mode raw-data` from `rustic repoinfo --json` (rustic-rs 0.11.4):
 * `index.blobs[]` = `{blob_type, count, size, data_size}` per blob type, `size` as stored
 * (compressed, encrypted), `data_size` before compression. Blobs marked for deletion are left out.
 */
export function parseRusticRepoinfo(v: unknown): RepoStatsResult | undefined {
  if (!isObj(v) || !isObj(v.index) || !Array.isArray(v.index.blobs)) return undefined;
  const blobs = v.index.blobs.filter(isObj);
  const stored = blobs.reduce((s, b) => s + num(b.size), 0);
  const snapshots = isObj(v.files) && Array.isArray(v.files.repo) ? v.files.repo.filter(isObj).find((f) => f.tpe === 'snapshot') : undefined;
  return {
    totalSize: stored,
    totalFileCount: 0,
    rawSize: stored,
    uncompressedSize: blobs.reduce((s, b) => s + num(b.data_size), 0),
    blobCount: blobs.reduce((s, b) => s + num(b.count), 0),
    ...(snapshots ? { snapshotsCount: num(snapshots.count) } : {}),
  };
}

/**
 * restic's `stats --mode restore-size [snapshot]` from the summaries rustic stores in each
 * snapshot (`snapshots --json`): the sum over the listed snapshots (restic, too, adds up every
 * snapshot's restore size when none is named). rustic counts symlinks among the files.
 */
export function restoreSizeFromSnapshots(v: unknown): RepoStatsResult | undefined {
  const members = groupMembers(v).filter(isObj);
  const summaries = members.map((m) => m.summary).filter(isObj);
  if (summaries.length !== members.length) return undefined;
  return {
    totalSize: summaries.reduce((s, x) => s + num(x.total_bytes_processed), 0),
    totalFileCount: summaries.reduce((s, x) => s + num(x.total_files_processed), 0),
    snapshotsCount: members.length,
  };
}
