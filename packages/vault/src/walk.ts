/**
 * Walks the source directories (no symlink following, one entry per path) and applies
 * the config's exclude patterns relative to each source root (exclude.ts: vaultik's rules).
 * An excluded directory is pruned: nothing below it is visited. Names are read as bytes: one
 * that is not valid UTF-8 is kept losslessly (raw-path.ts).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Excluder } from './exclude.js';
import { decodeName, fsPath } from './raw-path.js';

export interface WalkEntry {
  path: string;
  st: BigIntStats;
}

/**
 * Yields every non-excluded path under the roots (roots included), parents before
 * children, in sorted order. Entries of one directory are lstat'ed concurrently.
 */
export async function* walk(roots: string[], exclude: Excluder, onError: (p: string, e: Error) => void): AsyncGenerator<WalkEntry> {
  const seen = new Set<string>();
  const statAll = (paths: string[]): Promise<Array<WalkEntry | null>> =>
    Promise.all(
      paths.map((p) =>
        lstat(fsPath(p), { bigint: true }).then(
          (st) => ({ path: p, st }),
          (e: unknown) => {
            onError(p, e as Error);
            return null;
          },
        ),
      ),
    );
  const visit = async function* (entry: WalkEntry, rel: string): AsyncGenerator<WalkEntry> {
    yield entry;
    if (!entry.st.isDirectory()) return;
    let dirents;
    try {
      dirents = await readdir(fsPath(entry.path), { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      onError(entry.path, e as Error);
      return;
    }
    const children = dirents
      .map((d) => ({ name: decodeName(d.name), dir: d.isDirectory() }))
      .filter((d) => !exclude.matches(rel === '' ? d.name : `${rel}/${d.name}`, d.dir))
      .map((d) => d.name)
      .sort()
      .map((n) => path.join(entry.path, n))
      .filter((p) => !seen.has(p));
    children.forEach((p) => seen.add(p));
    // Batches bound the number of concurrent lstat calls in huge directories.
    for (let i = 0; i < children.length; i += 256) {
      for (const child of await statAll(children.slice(i, i + 256))) {
        if (child) yield* visit(child, rel === '' ? path.basename(child.path) : `${rel}/${path.basename(child.path)}`);
      }
    }
  };
  for (const r of roots) {
    const abs = path.resolve(r);
    if (seen.has(abs)) continue;
    seen.add(abs);
    const [entry] = await statAll([abs]);
    if (entry) yield* visit(entry, '');
  }
}
