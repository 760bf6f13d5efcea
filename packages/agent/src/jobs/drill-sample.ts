import { createHash } from 'node:crypto';

/** One regular file of a snapshot, as `restic ls` lists it. */
export interface SampleFile {
  path: string;
  size: number;
  mtime?: string | undefined;
}

export interface SampleOptions {
  /** How many files to take by score (the required ones come on top). */
  count: number;
  /** Bytes taken at most by score; the required files are taken even past it. */
  bytes: number;
  seed: string;
  /** The snapshot's top-level paths: at least one file under each that holds one is taken. */
  roots: readonly string[];
}

export interface Sample {
  files: SampleFile[];
  /** Every regular file seen and their total size (the whole snapshot, for the RTO estimate). */
  seenFiles: number;
  seenBytes: number;
}

/** A file's place in the seeded order: the same seed and path always score the same. */
function score(seed: string, path: string): string {
  return createHash('sha256').update(seed).update('\0').update(path).digest('hex').slice(0, 16);
}

/** The root a path lies under (the longest matching one), or its first component. */
export function rootOf(path: string, roots: readonly string[]): string {
  let best = '';
  for (const r of roots) {
    const base = r.endsWith('/') && r.length > 1 ? r.slice(0, -1) : r;
    if ((path === base || path.startsWith(base === '/' ? '/' : `${base}/`)) && base.length > best.length) best = base;
  }
  if (best) return best;
  const i = path.indexOf('/', 1);
  return i < 0 ? path : path.slice(0, i);
}

type Scored = SampleFile & { score: string };
const before = (a: Scored, b: Scored): boolean => a.score < b.score || (a.score === b.score && a.path < b.path);

/**
 * Seeded, reproducible file sampling for restore drills, fed one file at a time so a snapshot of
 * any size is sampled in bounded memory (the `count` lowest scores, one per root, the largest).
 * The result depends only on the set of files, the seed and the options — never on their order:
 * - the largest file (ties: the lowest score) is always taken;
 * - per root, the lowest-scoring file is always taken;
 * - then, among the 2×count lowest-scoring files, files in score order while fewer than `count`
 *   were taken by score and their bytes stay within `bytes` (a file that would exceed the budget
 *   is skipped; smaller ones may still fit).
 */
export class DrillSampler {
  private readonly kept: Scored[] = [];
  private largest: Scored | null = null;
  private readonly perRoot = new Map<string, Scored>();
  private seenFiles = 0;
  private seenBytes = 0;

  constructor(private readonly o: SampleOptions) {}

  add(f: SampleFile): void {
    const s: Scored = { ...f, score: score(this.o.seed, f.path) };
    this.seenFiles++;
    this.seenBytes += f.size;
    if (!this.largest || f.size > this.largest.size || (f.size === this.largest.size && before(s, this.largest))) this.largest = s;
    const root = rootOf(f.path, this.o.roots);
    const r = this.perRoot.get(root);
    if (!r || before(s, r)) this.perRoot.set(root, s);
    // Bounded: keep at most 4×count candidates, trimming to the lowest scores when over.
    this.kept.push(s);
    if (this.kept.length > Math.max(64, this.o.count * 4)) this.trim(this.o.count * 2);
  }

  private trim(n: number): void {
    this.kept.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    this.kept.length = Math.min(this.kept.length, n);
  }

  result(): Sample {
    const taken = new Map<string, SampleFile>();
    const take = (s: Scored): void => {
      if (!taken.has(s.path)) taken.set(s.path, { path: s.path, size: s.size, ...(s.mtime !== undefined ? { mtime: s.mtime } : {}) });
    };
    if (this.largest) take(this.largest);
    for (const s of this.perRoot.values()) take(s);
    // Only the 2×count lowest scores are candidates: that set is the same whatever the order of adds.
    this.trim(this.o.count * 2);
    let n = 0;
    let bytes = 0;
    for (const s of this.kept) {
      if (n >= this.o.count) break;
      if (taken.has(s.path)) continue;
      if (bytes + s.size > this.o.bytes) continue;
      take(s);
      n++;
      bytes += s.size;
    }
    const files = [...taken.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { files, seenFiles: this.seenFiles, seenBytes: this.seenBytes };
  }
}

/** The sample of a whole list (tests and callers holding every file already). */
export function sampleFiles(files: Iterable<SampleFile>, o: SampleOptions): Sample {
  const s = new DrillSampler(o);
  for (const f of files) s.add(f);
  return s.result();
}
