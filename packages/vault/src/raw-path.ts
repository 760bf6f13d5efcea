/**
 * File names are bytes; the vault's paths are strings (the metadata is JSON). A name that is
 * valid UTF-8 is its plain string. Each byte of a name that does not decode (Latin-1 names from
 * an old system, a truncated sequence, an overlong form…) becomes the lone low surrogate
 * U+DC80 + (byte − 0x80) — the "surrogateescape" of Python (PEP 383). Decoding valid UTF-8 never
 * yields a lone surrogate, so the mapping is lossless both ways, and JSON keeps it (`\udc80`).
 * Every filesystem call on such a path goes through `fsPath`, which gives Node the raw bytes.
 */

/** A low surrogate in the escape range that is not the second half of a pair. */
const ESCAPE = /(?<![\ud800-\udbff])[\udc80-\udcff]/;

/** Length of the well-formed UTF-8 sequence at b[i], or 0 (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF). */
function sequenceAt(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** A name (or a symlink target) as read from the filesystem, as the vault's string. */
export function decodeName(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  // fast path: Node's decoder puts U+FFFD for every invalid sequence, so without one it was lossless
  const plain = buf.toString('utf8');
  if (!plain.includes('\ufffd')) return plain;
  let out = '';
  let start = 0;
  let i = 0;
  while (i < buf.length) {
    const n = sequenceAt(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', start, i) + String.fromCharCode(0xdc00 + buf[i]!);
    i++;
    start = i;
  }
  return out + buf.toString('utf8', start, buf.length);
}

/** The bytes a vault path stands for: the string itself when it holds no escaped byte, else a Buffer. */
export function fsPath(p: string): string | Buffer {
  if (!ESCAPE.test(p)) return p;
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    const u = p.charCodeAt(i);
    // a low surrogate right after a high one is half of a real character, not an escaped byte
    if (u < 0xdc80 || u > 0xdcff || (i > 0 && p.charCodeAt(i - 1) >= 0xd800 && p.charCodeAt(i - 1) <= 0xdbff)) continue;
    parts.push(Buffer.from(p.slice(start, i), 'utf8'), Buffer.from([u - 0xdc00]));
    start = i + 1;
  }
  parts.push(Buffer.from(p.slice(start), 'utf8'));
  return Buffer.concat(parts);
}
