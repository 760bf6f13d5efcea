/**
 * A tree hash over raw names: every directory, regular file (mode + sha256) and symlink (raw
 * target) below a root, keyed by its relative path as bytes. Names are read as Buffers, so a
 * name that is not valid UTF-8 is compared byte for byte, never through a lossy decoding.
 * FIFOs, sockets and devices are listed by type only.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export interface RawTree {
  /** Printable relative path (bytes outside printable ASCII as \xNN) -> "type mode sha256|target". */
  entries: Map<string, string>;
  /** sha256 over every entry, in byte order of the paths. */
  digest: string;
  files: number;
  /**
   * Symlinks whose target is not valid UTF-8 -> the entry restic 0.14 restores for them: it keeps
   * link targets as JSON strings, so each undecodable byte comes back as U+FFFD (an upstream
   * limitation, docs/reliability.md). Any other change to such a link still counts as a difference.
   */
  lossyLinks: Map<string, string>;
}

/** Bytes outside printable ASCII (and the backslash) as \xNN, so any name prints on one line. */
export function printable(b: Buffer): string {
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s;
}

const join = (a: Buffer, b: Buffer): Buffer => Buffer.concat([a, Buffer.from('/'), b]);

/**
 * Hashes the tree below `root` (root itself excluded). Synchronous: the driver runs it between
 * steps. `reuse`: top-level directories whose tree is already hashed (a corpus that never
 * changes), spliced in instead of read again.
 */
export function hashRawTree(root: string, reuse: ReadonlyMap<string, RawTree> = new Map()): RawTree {
  const entries = new Map<string, string>();
  const lossyLinks = new Map<string, string>();
  let files = 0;
  const walk = (abs: Buffer, rel: Buffer | null): void => {
    const names = (fs.readdirSync(abs, { encoding: 'buffer' })).sort(Buffer.compare);
    for (const name of names) {
      const a = join(abs, name);
      const r = rel ? join(rel, name) : name;
      const st = fs.lstatSync(a);
      const mode = (st.mode & 0o7777).toString(8);
      const key = printable(r);
      const known = rel === null && st.isDirectory() ? reuse.get(key) : undefined;
      if (known) {
        entries.set(key, `dir ${mode}`);
        for (const [k, v] of known.entries) entries.set(`${key}/${k}`, v);
        for (const [k, v] of known.lossyLinks) lossyLinks.set(`${key}/${k}`, v);
        files += known.files;
        continue;
      }
      if (st.isSymbolicLink()) {
        const target = fs.readlinkSync(a, { encoding: 'buffer' });
        entries.set(key, `symlink ${printable(target)}`);
        const lossy = Buffer.from(target.toString('utf8'));
        if (!lossy.equals(target)) lossyLinks.set(key, `symlink ${printable(lossy)}`);
      }
      else if (st.isDirectory()) {
        entries.set(key, `dir ${mode}`);
        walk(a, r);
      } else if (st.isFile()) {
        files++;
        entries.set(key, `file ${mode} ${createHash('sha256').update(fs.readFileSync(a)).digest('hex')}`);
      } else entries.set(key, st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : 'other');
    }
  };
  walk(Buffer.from(root), null);
  const h = createHash('sha256');
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.update(`${k}\0${v}\n`);
  return { entries, digest: h.digest('hex'), files, lossyLinks };
}

/** `t` without the subtree at `prefix` (a printable relative path): what a restore excluding it must reproduce. */
export function withoutSubtree(t: RawTree, prefix: string): RawTree {
  const out = (m: Map<string, string>): Map<string, string> => new Map([...m].filter(([k]) => k !== prefix && !k.startsWith(`${prefix}/`)));
  const entries = out(t.entries);
  return { entries, lossyLinks: out(t.lossyLinks), digest: `${t.digest} without ${prefix}`, files: [...entries.values()].filter((v) => v.startsWith('file ')).length };
}

/**
 * What a restore must reproduce of `expected`: every directory, regular file and symlink
 * (sockets are skipped by restic with a warning; FIFOs are not compared). Returns up to `max`
 * differences, empty when the restore is exact.
 */
export function restoreDiff(expected: RawTree, actual: RawTree, max = 10): string[] {
  const out: string[] = [];
  for (const [k, v] of expected.entries) {
    if (!/^(dir|file|symlink) /.test(v)) continue;
    const a = actual.entries.get(k);
    if (a !== v && (a === undefined || a !== expected.lossyLinks.get(k))) out.push(a === undefined ? `missing: ${k}` : `differs: ${k}: expected ${v}, got ${a}`);
    if (out.length >= max) break;
  }
  for (const [k, v] of actual.entries) {
    if (out.length >= max) break;
    if (!expected.entries.has(k) && v.startsWith('file ')) out.push(`unexpected file: ${k}`);
  }
  return out;
}

/**
 * Files of `actual` whose content differs from `expected` (a failed restore may leave files
 * out, but must never leave a file with the wrong content under its name).
 */
export function wrongFiles(expected: RawTree, actual: RawTree, max = 10): string[] {
  const out: string[] = [];
  for (const [k, v] of actual.entries) {
    if (!v.startsWith('file ')) continue;
    const e = expected.entries.get(k);
    const sha = (x: string): string => x.slice(x.lastIndexOf(' ') + 1);
    if (e !== undefined && sha(e) !== sha(v)) out.push(`${k}: expected ${e}, got ${v}`);
    if (out.length >= max) break;
  }
  return out;
}
