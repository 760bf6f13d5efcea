import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';

export interface CorpusOptions {
  /** Number of regular files to create (a symlink is added on top when files >= 2). */
  files: number;
  /** Approximate total size of the regular files, bytes. */
  totalBytes: number;
  /** Same seed, same options -> byte-identical corpus. */
  seed: number | string;
}

export interface CorpusResult {
  files: number;
  bytes: number;
}

/** splitmix32: a tiny deterministic PRNG, good enough to pick sizes and names. */
function prng(seed: string): () => number {
  let s = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let t = s ^ (s >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return (t >>> 0) / 4294967296;
  };
}

const WORDS = (
  'backup restore snapshot repository policy retention prune check index pack blob tree chunk ' +
  'host agent server schedule daily weekly monthly yearly keep forget lock stale password key ' +
  'the a of to and in is it for on with as at by from this that be are was not or but'
).split(' ');

type Kind = 'text' | 'binary' | 'sparse';

interface Plan {
  rel: string;
  size: number;
  kind: Kind;
  duplicateOf?: string;
}

function planCorpus(opts: CorpusOptions): Plan[] {
  const rnd = prng(`plan:${String(opts.seed)}`);
  const n = Math.max(0, Math.floor(opts.files));
  const dirs = ['', 'docs', 'docs/notes', 'media', 'media/raw/2024', 'src', 'src/lib/deep/nested', 'var/log'];
  const large = n >= 20 ? 3 : 0;
  const largeShare = large ? 0.3 : 0;
  const largeSize = large ? Math.floor((opts.totalBytes * largeShare) / large) : 0;
  const rest = n - large;
  // Log-uniform weights between 1 and 256, scaled to the remaining byte budget.
  const weights = Array.from({ length: rest }, () => Math.exp(rnd() * Math.log(256)));
  const sum = weights.reduce((a, b) => a + b, 0) || 1;
  const budget = opts.totalBytes * (1 - largeShare);
  const plans: Plan[] = [];
  for (let i = 0; i < n; i++) {
    const dir = dirs[Math.floor(rnd() * dirs.length)] ?? '';
    const r = rnd();
    const kind: Kind = r < 0.5 ? 'text' : r < 0.9 ? 'binary' : 'sparse';
    const ext = kind === 'text' ? 'txt' : 'bin';
    const isLarge = i < large;
    const size = isLarge ? largeSize : Math.max(0, Math.round((budget * (weights[i - large] ?? 0)) / sum));
    const rel = path.posix.join(isLarge ? 'large' : dir, `f${String(i).padStart(5, '0')}.${ext}`);
    const plan: Plan = { rel, size, kind };
    // One file in twenty is an exact copy of an earlier small file (dedup material).
    if (!isLarge && i > large && i % 20 === 10) {
      const src = plans[large + Math.floor(rnd() * (i - large))];
      if (src && !src.duplicateOf) Object.assign(plan, { size: src.size, kind: src.kind, duplicateOf: src.rel });
    }
    plans.push(plan);
  }
  return plans;
}

function textLines(seed: string): string[] {
  const rnd = prng(`lines:${seed}`);
  return Array.from({ length: 512 }, (_, i) => {
    const words = Array.from({ length: 4 + Math.floor(rnd() * 12) }, () => WORDS[Math.floor(rnd() * WORDS.length)] ?? '');
    return `${i} ${words.join(' ')}\n`;
  });
}

const CHUNK = 1 << 20;

/** Produces `size` bytes of one kind in chunks of at most 1 MiB. */
function* contents(kind: Kind, size: number, seed: string, lines: string[]): Generator<Buffer> {
  const key = createHash('sha256').update(`key:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  const rnd = prng(`text:${seed}`);
  let left = size;
  while (left > 0) {
    const n = Math.min(CHUNK, left);
    if (kind === 'binary') yield cipher.update(zeros.subarray(0, n));
    else if (kind === 'sparse') {
      // Mostly zeros with a random block every 64 KiB: highly compressible binary.
      const buf = Buffer.alloc(n);
      for (let off = 0; off < n; off += 65536) cipher.update(zeros.subarray(0, 512)).copy(buf, off);
      yield buf;
    } else {
      const parts: string[] = [];
      let len = 0;
      while (len < n) {
        const line = lines[Math.floor(rnd() * lines.length)] ?? '\n';
        parts.push(line);
        len += line.length;
      }
      yield Buffer.from(parts.join('')).subarray(0, n);
    }
    left -= n;
  }
}

async function writeFileFrom(file: string, chunks: Iterable<Buffer>): Promise<void> {
  const out = createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.once('finish', resolve);
  });
  for (const chunk of chunks) {
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
  }
  out.end();
  await done;
}

/**
 * Writes a deterministic mixed corpus under `dir`: compressible text, random binary, mostly-zero
 * binary, 5% exact duplicates, nested directories, three large files (30% of the bytes, when
 * files >= 20) and one relative symlink. Returns the regular-file count and bytes written.
 */
export async function makeCorpus(dir: string, opts: CorpusOptions): Promise<CorpusResult> {
  const seed = String(opts.seed);
  const lines = textLines(seed);
  let bytes = 0;
  const plans = planCorpus(opts);
  for (const [i, p] of plans.entries()) {
    const file = path.join(dir, p.rel);
    await mkdir(path.dirname(file), { recursive: true });
    if (p.duplicateOf) await copyFile(path.join(dir, p.duplicateOf), file);
    else await writeFileFrom(file, contents(p.kind, p.size, `${seed}:${i}`, lines));
    bytes += p.size;
  }
  const first = plans.find((p) => !p.rel.startsWith('large/'));
  if (plans.length >= 2 && first) {
    await mkdir(path.join(dir, 'links'), { recursive: true });
    await symlink(path.posix.join('..', first.rel), path.join(dir, 'links', 'first-file'));
  }
  return { files: plans.length, bytes };
}
