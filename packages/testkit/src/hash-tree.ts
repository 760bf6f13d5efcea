import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** sha256 hex of the content; '' for anything but regular files. */
  sha256: string;
  size: number;
  linkTarget?: string;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Every entry below `dir` (not `dir` itself), keyed by its POSIX relative path, sorted.
 * Symlinks are not followed. Compare two trees with `diffTrees`.
 */
export async function hashTree(dir: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  async function walk(abs: string, rel: string): Promise<void> {
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const a = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(a);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) out.set(r, { type: 'symlink', mode, sha256: '', size: 0, linkTarget: await readlink(a) });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode, sha256: '', size: 0 });
        await walk(a, r);
      } else if (st.isFile()) out.set(r, { type: 'file', mode, sha256: await sha256File(a), size: st.size });
      else out.set(r, { type: 'other', mode, sha256: '', size: 0 });
    }
  }
  await walk(dir, '');
  return out;
}

/** Human-readable differences between two trees (empty when identical). Capped at `max` lines. */
export function diffTrees(expected: Map<string, TreeEntry>, actual: Map<string, TreeEntry>, max = 20): string[] {
  const diffs: string[] = [];
  for (const [rel, e] of expected) {
    const a = actual.get(rel);
    if (!a) diffs.push(`missing: ${rel}`);
    else if (JSON.stringify(a) !== JSON.stringify(e)) diffs.push(`differs: ${rel}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
  }
  for (const rel of actual.keys()) if (!expected.has(rel)) diffs.push(`unexpected: ${rel}`);
  return diffs.slice(0, max);
}
