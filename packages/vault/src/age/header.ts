/**
 * The textual age v1 header: version line, recipient stanzas, and the MAC line.
 * Parsing is strict (canonical base64, LF only, 64-column bodies) so that the
 * bytes the MAC covers are exactly the bytes read.
 */
import { b64Decode, b64Encode } from './base64.js';

export const VERSION_LINE = 'age-encryption.org/v1';

export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** Header bytes from the start up to and including `---`: what the MAC covers. */
  macInput: Buffer;
  mac: Buffer;
  /** Byte length of the whole header including the final newline; the payload starts here. */
  length: number;
}

/** A header that failed to parse; distinct from wrong keys and MAC failures. */
export class AgeHeaderError extends Error {
  readonly code = 'AGE_HEADER';
}

function isArg(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/**
 * Parses the header at the start of `buf`. Returns `null` when `buf` ends before
 * the MAC line is complete (read more and retry); throws AgeHeaderError when malformed.
 */
export function parseHeader(buf: Buffer): ParsedHeader | null {
  let pos = 0;
  const nextLine = (): string | null => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) return null;
    const line = buf.toString('latin1', pos, nl);
    pos = nl + 1;
    return line;
  };
  const fail = (why: string): never => {
    throw new AgeHeaderError(`age header: ${why}`);
  };
  const version = nextLine();
  if (version === null) return buf.length > 256 ? fail('no version line') : null;
  if (version !== VERSION_LINE) fail(`unsupported version line '${version.slice(0, 40)}'`);
  const stanzas: Stanza[] = [];
  for (;;) {
    const lineStart = pos;
    const line = nextLine();
    if (line === null) return null;
    if (line.startsWith('---')) {
      if (!line.startsWith('--- ')) fail('malformed MAC line');
      let mac: Buffer;
      try {
        mac = b64Decode(line.slice(4));
      } catch {
        return fail('malformed MAC');
      }
      if (mac.length !== 32) fail('MAC has the wrong length');
      return { stanzas, macInput: buf.subarray(0, lineStart + 3), mac, length: pos };
    }
    if (!line.startsWith('-> ')) fail('expected a stanza or the MAC line');
    const parts = line.slice(3).split(' ');
    if (!parts.every(isArg)) fail('malformed stanza arguments');
    const [type, ...args] = parts as [string, ...string[]];
    const chunks: Buffer[] = [];
    for (;;) {
      const bodyLine = nextLine();
      if (bodyLine === null) return null;
      if (bodyLine.length > 64) fail('stanza body line too long');
      try {
        chunks.push(b64Decode(bodyLine));
      } catch {
        fail('malformed stanza body');
      }
      if (bodyLine.length < 64) break;
    }
    stanzas.push({ type, args, body: Buffer.concat(chunks) });
  }
}

/** Encodes the header up to and including `---` (the MAC input). */
export function encodeHeaderWithoutMac(stanzas: Stanza[]): string {
  let out = `${VERSION_LINE}\n`;
  for (const s of stanzas) {
    out += `-> ${[s.type, ...s.args].join(' ')}\n`;
    const b = b64Encode(s.body);
    // Full 64-column lines, then always a final shorter (possibly empty) line.
    for (let i = 0; i <= b.length; i += 64) out += `${b.slice(i, i + 64)}\n`;
  }
  return `${out}---`;
}
