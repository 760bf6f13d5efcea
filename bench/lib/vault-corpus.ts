/**
 * The vault benchmark's corpus: testkit's makeCorpus (mixed text / random / sparse
 * files, duplicates, nested dirs, three large files) at ~1 GB under .bench-data/.
 * Parameters are recorded in a stamp file so the corpus is generated once and reused.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { makeCorpus } from '@restic-manager/testkit';

export interface CorpusParams {
  files: number;
  totalBytes: number;
  seed: string;
}

export const VAULT_CORPUS: CorpusParams = { files: 2000, totalBytes: 1_000_000_000, seed: 'bench-1g' };

export async function ensureCorpus(root: string, p: CorpusParams): Promise<string> {
  const dir = path.join(root, `corpus-${p.seed}-${p.files}-${p.totalBytes}`);
  const stamp = path.join(dir, '.complete');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === JSON.stringify(p)) return dir;
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`generating corpus (${p.files} files, ${(p.totalBytes / 1e9).toFixed(2)} GB) in ${dir}\n`);
  await makeCorpus(dir, p);
  writeFileSync(stamp, JSON.stringify(p));
  return dir;
}

/** Regular files under `dir` (sorted, excluding the stamp). */
export function regularFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name !== '.complete')
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/**
 * Modifies every tenth file in place (deterministically): 4 KiB overwritten in the
 * middle and 100 bytes appended. Returns how many files changed. Apply to a copy!
 */
export async function modifyTenPercent(files: string[], seed: number): Promise<number> {
  let n = 0;
  for (let i = seed % 10; i < files.length; i += 10) {
    const fh = await open(files[i]!, 'r+');
    const { size } = await fh.stat();
    const patch = Buffer.alloc(4096, `${seed}:${i}:`);
    await fh.write(patch, 0, Math.min(4096, size), Math.floor(size / 2));
    await fh.write(Buffer.alloc(100, 'x'), 0, 100, size);
    await fh.close();
    n++;
  }
  return n;
}
