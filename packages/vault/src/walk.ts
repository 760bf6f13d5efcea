/**
 * Walks the source directories (no symlink following, one entry per path) and applies
 * the config's exclude globs. A pattern without `/` matches a name at any depth
 * (`*.log`); with `/` it matches the full path (`/home/*\/cache`, `**` crosses `/`).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class Excluder {
  private readonly byName: RegExp[] = [];
  private readonly byPath: RegExp[] = [];
  constructor(patterns: string[]) {
    for (const p of patterns) {
      const trimmed = p.replace(/\/+$/, '');
      if (trimmed.includes('/')) this.byPath.push(globToRegExp(trimmed));
      else this.byName.push(globToRegExp(trimmed));
    }
  }
  excluded(abs: string): boolean {
    const name = path.basename(abs);
    return this.byName.some((r) => r.test(name)) || this.byPath.some((r) => r.test(abs));
  }
}

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
        lstat(p, { bigint: true }).then(
          (st) => ({ path: p, st }),
          (e: unknown) => {
            onError(p, e as Error);
            return null;
          },
        ),
      ),
    );
  const visit = async function* (entry: WalkEntry): AsyncGenerator<WalkEntry> {
    yield entry;
    if (!entry.st.isDirectory()) return;
    let names: string[];
    try {
      names = await readdir(entry.path);
    } catch (e) {
      onError(entry.path, e as Error);
      return;
    }
    names.sort();
    const children = names.map((n) => path.join(entry.path, n)).filter((p) => !seen.has(p) && !exclude.excluded(p));
    children.forEach((p) => seen.add(p));
    // Batches bound the number of concurrent lstat calls in huge directories.
    for (let i = 0; i < children.length; i += 256) {
      for (const child of await statAll(children.slice(i, i + 256))) if (child) yield* visit(child);
    }
  };
  for (const r of roots) {
    const abs = path.resolve(r);
    if (seen.has(abs) || exclude.excluded(abs)) continue;
    seen.add(abs);
    const [entry] = await statAll([abs]);
    if (entry) yield* visit(entry);
  }
}
