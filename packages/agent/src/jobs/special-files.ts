import { lstat, opendir } from 'node:fs/promises';
import path from 'node:path';

/** Sockets named in a backup's warning; all are counted. */
const NAMED = 20;
/** Directories walked at most (a bound on the scan, not on the backup). */
const MAX_DIRS = 2_000_000;

export interface SpecialFilesScan {
  /** Paths of the first sockets found. */
  named: string[];
  count: number;
  /** True when the scan stopped early (aborted, or MAX_DIRS reached): the count is a lower bound. */
  partial: boolean;
}

/** restic's exclude patterns that are plain paths or names (no glob): what this scan honours. */
function plainExcludes(excludes: readonly string[]): { paths: Set<string>; names: Set<string> } {
  const paths = new Set<string>();
  const names = new Set<string>();
  for (const e of excludes) {
    if (/[*?[\\]/.test(e)) continue;
    if (e.startsWith('/')) paths.add(e.replace(/\/+$/, '') || '/');
    else if (!e.includes('/')) names.add(e);
  }
  return { paths, names };
}

/**
 * Finds the Unix sockets under the backup paths: restic 0.14 skips them without a word, so the
 * job says which it did not back up. Runs beside restic (one `readdir` per directory, file types
 * from the directory entries, no `stat`), stays on one file system when the backup does, and
 * honours plain-path and plain-name excludes (a glob exclude is not applied: a socket it covers
 * is still listed, which only errs towards saying more). Never throws.
 */
export async function scanSpecialFiles(paths: readonly string[], o: { excludes?: readonly string[]; oneFileSystem?: boolean; signal?: AbortSignal } = {}): Promise<SpecialFilesScan> {
  const ex = plainExcludes(o.excludes ?? []);
  const out: SpecialFilesScan = { named: [], count: 0, partial: false };
  const stack: { dir: string; dev: number | null }[] = [];
  for (const p of paths) {
    const st = await lstat(p).catch(() => null);
    if (!st) continue;
    if (st.isSocket()) found(out, p);
    else if (st.isDirectory()) stack.push({ dir: p, dev: o.oneFileSystem ? st.dev : null });
  }
  let dirs = 0;
  while (stack.length > 0) {
    if (o.signal?.aborted || ++dirs > MAX_DIRS) {
      out.partial = true;
      break;
    }
    const { dir, dev } = stack.pop()!;
    const handle = await opendir(dir, { bufferSize: 256 }).catch(() => null);
    if (!handle) continue;
    try {
      for await (const e of handle) {
        const full = path.join(dir, e.name);
        if (ex.names.has(e.name) || ex.paths.has(full)) continue;
        if (e.isSocket()) found(out, full);
        else if (e.isDirectory()) {
          if (dev !== null && (await lstat(full).catch(() => null))?.dev !== dev) continue;
          stack.push({ dir: full, dev });
        }
      }
    } catch {
      // A directory that vanished or cannot be read mid-walk: restic reports those itself.
    }
  }
  return out;
}

function found(out: SpecialFilesScan, p: string): void {
  out.count++;
  if (out.named.length < NAMED) out.named.push(p);
}

/** The job's warning line for a scan that found sockets, or null. */
export function specialFilesWarning(s: SpecialFilesScan): string | null {
  if (s.count === 0) return null;
  const more = s.count > s.named.length ? `, and ${s.count - s.named.length} more` : '';
  return `${s.count}${s.partial ? '+' : ''} socket(s) were not backed up (restic cannot store sockets): ${s.named.join(', ')}${more}`;
}
