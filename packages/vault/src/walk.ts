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

/** Yields every non-excluded path under the roots (roots included), parents before children. */
export async function* walk(roots: string[], exclude: Excluder, onError: (p: string, e: Error) => void): AsyncGenerator<WalkEntry> {
  const seen = new Set<string>();
  const visit = async function* (p: string): AsyncGenerator<WalkEntry> {
    if (seen.has(p) || exclude.excluded(p)) return;
    seen.add(p);
    let st: BigIntStats;
    try {
      st = await lstat(p, { bigint: true });
    } catch (e) {
      onError(p, e as Error);
      return;
    }
    yield { path: p, st };
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = await readdir(p);
    } catch (e) {
      onError(p, e as Error);
      return;
    }
    names.sort();
    for (const n of names) yield* visit(path.join(p, n));
  };
  for (const r of roots) yield* visit(path.resolve(r));
}
