import path from 'node:path';
import type { LsEntry } from '../types.js';
import { unquoteRust } from './parse.js';

/**
 * `rustic ls --long --numeric-uid-gid --recursive <snap>[:<dir>]` (rustic-rs 0.11.4; its `--json`
 * lists bare paths without types and cannot be combined with `--long`), one node per line:
 *
 *     drwxr-xr-x        ?        ?         0                 ? "tmp"
 *     -rw-r--r--        0        0         6  2 Dec 2026 14:35 "tmp/src/a.txt"
 *     lrwxrwxrwx        0        0         5  2 Dec 2026 14:35 "tmp/src/link" -> a.txt
 *
 * Paths are relative to the listed directory (the snapshot root or `<dir>`); `base` makes them
 * absolute like restic's. The time is the node's mtime to the minute, in the local time zone.
 */
const LINE = /^([-dlcbps?])([-rwxsStT]{9})\s+(\S+)\s+(\S+)\s+(\d+)\s+(.*?)\s*("(?:[^"\\]|\\.)*")(?:\s+->\s.*)?\s*$/;

const TYPES: Record<string, LsEntry['type']> = { '-': 'file', d: 'dir', l: 'symlink', c: 'chardev', b: 'dev', p: 'fifo', s: 'socket' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function parseRusticLsLong(line: string, base = '/'): LsEntry | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, type = '', perms = '', uid = '', gid = '', size = '', time = '', quoted = ''] = m;
  const rel = unquoteRust(quoted);
  if (rel === undefined) return undefined;
  const p = path.posix.join(base, rel);
  const e: LsEntry = { name: path.posix.basename(p), path: p, type: TYPES[type] ?? 'other', mode: permBits(perms) };
  if (e.type === 'file') e.size = Number(size);
  if (/^\d+$/.test(uid)) e.uid = Number(uid);
  if (/^\d+$/.test(gid)) e.gid = Number(gid);
  const mtime = localMinute(time);
  if (mtime) e.mtime = mtime;
  return e;
}

/** `rwxr-sr-t` -> 0o3755. */
function permBits(p: string): number {
  let mode = 0;
  for (let i = 0; i < 9; i++) if (!'-ST'.includes(p[i] ?? '-')) mode |= 1 << (8 - i);
  if (/[sS]/.test(p[2] ?? '')) mode |= 0o4000;
  if (/[sS]/.test(p[5] ?? '')) mode |= 0o2000;
  if (/[tT]/.test(p[8] ?? '')) mode |= 0o1000;
  return mode;
}

/** `2 Dec 2026 14:35` (local time) -> ISO 8601; `?` (no time stored) -> undefined. */
function localMinute(t: string): string | undefined {
  const m = /^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2})$/.exec(t.trim());
  const month = MONTHS.indexOf(m?.[2] ?? '');
  if (!m || month === -1) return undefined;
  return new Date(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5])).toISOString();
}
