// C2SP CCTV age vectors (npm cctv-age). Skipped, by design: armored vectors (this
// engine never reads or writes ASCII armor), scrypt/passphrase vectors (a backup
// tool has no use for passphrase recipients; the engine rejects scrypt stanzas as
// unsupported), and hybrid ML-KEM vectors (post-quantum recipients need ML-KEM,
// which Node 20's crypto does not offer).
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import * as vectors from 'cctv-age';
import { describe, expect, it } from 'vitest';
import { AgeHeaderError, AgeMacError, AgeNoMatchError, AgePayloadError, decrypt, X25519Identity } from '../src/age/index.js';

interface Vector {
  name: string;
  meta: Map<string, string[]>;
  file: Buffer;
}

function parseVector(name: string, raw: Uint8Array): Vector {
  const b = Buffer.from(raw);
  const split = b.indexOf('\n\n');
  const meta = new Map<string, string[]>();
  for (const line of b.subarray(0, split).toString().split('\n')) {
    const i = line.indexOf(': ');
    const k = line.slice(0, i);
    meta.set(k, [...(meta.get(k) ?? []), line.slice(i + 2)]);
  }
  let file = b.subarray(split + 2);
  if (meta.get('compressed')?.[0] === 'zlib') file = inflateSync(file);
  return { name, meta, file };
}

const all = Object.entries(vectors as unknown as Record<string, Uint8Array>)
  .filter(([k]) => k !== 'default')
  .map(([k, v]) => parseVector(k, v));

function skipReason(v: Vector): string | null {
  if (v.meta.get('armored')?.[0] === 'yes') return 'armor';
  if (v.meta.has('passphrase')) return 'scrypt';
  if (v.meta.get('identity')?.some((i) => !i.startsWith('AGE-SECRET-KEY-1'))) return 'hybrid';
  return null;
}

const applicable = all.filter((v) => skipReason(v) === null);

describe('CCTV age vectors', () => {
  it('covers the X25519, header and STREAM vectors', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(applicable.length).toBeGreaterThanOrEqual(60);
  });
  for (const v of applicable) {
    it(`${v.name}: ${v.meta.get('expect')?.[0]}`, () => {
      const expectResult = v.meta.get('expect')![0]!;
      const ids = (v.meta.get('identity') ?? []).map((s) => X25519Identity.parse(s));
      const released: Buffer[] = [];
      let error: unknown = null;
      try {
        decrypt(v.file, ids, (b) => released.push(b));
      } catch (e) {
        error = e;
      }
      const classes: Record<string, unknown> = {
        success: null,
        'header failure': AgeHeaderError,
        'no match': AgeNoMatchError,
        'HMAC failure': AgeMacError,
        'payload failure': AgePayloadError,
      };
      const want = classes[expectResult];
      if (want === null) expect(error).toBeNull();
      else expect(error, `${v.name} should fail with ${expectResult}`).toBeInstanceOf(want as new () => Error);
      if (expectResult === 'success' || expectResult === 'payload failure') {
        const hash = createHash('sha256').update(Buffer.concat(released)).digest('hex');
        expect(hash).toBe(v.meta.get('payload')![0]);
      }
    });
  }
});
