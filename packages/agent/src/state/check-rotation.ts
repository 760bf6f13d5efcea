import { createHash } from 'node:crypto';
import { readIfExists, writeFileAtomic } from './atomic.js';

/** Repositories remembered at most (the oldest entry goes first). */
const MAX_ENTRIES = 256;

interface Part {
  next: number;
  parts: number;
}

/** Keys are hashes: the file names no repository. */
const keyOf = (repoKey: string): string => createHash('sha256').update(repoKey).digest('hex').slice(0, 24);

function load(file: string): Map<string, Part> {
  const out = new Map<string, Part>();
  try {
    const raw = readIfExists(file);
    const v: unknown = raw ? JSON.parse(raw.toString('utf8')) : null;
    if (!Array.isArray(v)) return out;
    for (const e of v.slice(-MAX_ENTRIES)) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !/^[0-9a-f]{24}$/.test(e[0])) continue;
      const p = e[1] as Partial<Part> | null;
      if (p && Number.isInteger(p.next) && Number.isInteger(p.parts) && p.parts! >= 1 && p.next! >= 1 && p.next! <= p.parts!) out.set(e[0], { next: p.next!, parts: p.parts! });
    }
  } catch {
    // A damaged file starts every rotation again at part 1: nothing is skipped for good.
  }
  return out;
}

/**
 * The part (1..parts) of the pack data the next check of `repoKey` reads, advancing the stored
 * counter: `parts` consecutive checks read all of it. A changed `parts` starts again at 1. The
 * file (check-rotation.json, 0600) holds `[key, {next, parts}]` pairs; a write that fails still
 * answers (the same part comes again next time). Never throws.
 */
export function nextCheckPart(file: string, repoKey: string, parts: number): number {
  const all = load(file);
  const k = keyOf(repoKey);
  const cur = all.get(k);
  const n = cur && cur.parts === parts ? cur.next : 1;
  all.delete(k);
  all.set(k, { next: (n % parts) + 1, parts });
  while (all.size > MAX_ENTRIES) all.delete(all.keys().next().value as string);
  try {
    writeFileAtomic(file, JSON.stringify([...all]));
  } catch {
    // see above
  }
  return n;
}
