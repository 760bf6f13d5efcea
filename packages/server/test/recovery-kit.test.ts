import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { combine, split } from 'shamir-secret-sharing';
import { describe, expect, it } from 'vitest';
import { combineShares, kitIdOf, parseShare, RecoveryKitError, splitKey } from '../src/controlplane/recovery-kit.js';

/*
 * The recovery kit's Shamir layer. The library (shamir-secret-sharing, a port of HashiCorp
 * Vault's) is checked against an independent GF(256) written here from the AES field's
 * definition, which is itself checked against the published FIPS-197 multiplication vectors.
 */

/** GF(2^8) multiplication modulo x^8+x^4+x^3+x+1 (FIPS-197 §4.2), bit by bit. */
function gmul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    const hi = a & 0x80;
    a = (a << 1) & 0xff;
    if (hi) a ^= 0x1b;
    b >>= 1;
  }
  return p;
}
function ginv(a: number): number {
  for (let x = 1; x < 256; x++) if (gmul(a, x) === 1) return x;
  throw new Error('0 has no inverse');
}
/** Lagrange interpolation at x = 0 over points (x_i, y_i). */
function at0(points: [number, number][]): number {
  let r = 0;
  for (const [i, [xi, yi]] of points.entries()) {
    let basis = 1;
    for (const [j, [xj]] of points.entries()) if (i !== j) basis = gmul(basis, gmul(xj, ginv(xi ^ xj)));
    r ^= gmul(yi, basis);
  }
  return r;
}

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const counts = fc.integer({ min: 2, max: 8 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n })));

describe('GF(256) reference (FIPS-197 vectors) and the library against it', () => {
  it('the reference field matches FIPS-197 §4.2 and HashiCorp Vault shamir_test.go vectors', () => {
    expect(gmul(0x57, 0x83)).toBe(0xc1); // FIPS-197 §4.2
    expect(gmul(0x57, 0x13)).toBe(0xfe); // FIPS-197 §4.2.1
    expect(gmul(0x57, 0x02)).toBe(0xae); // xtime({57}) = {ae}
    expect(gmul(3, 7)).toBe(9); // vault/shamir TestField_Mul
    expect(gmul(ginv(3), 6)).toBe(2); // vault/shamir TestField_Divide: div(6, 3) = 2
  });

  it('every library share lies on one polynomial whose value at 0 is the secret (independent interpolation)', async () => {
    await fc.assert(
      fc.asyncProperty(key32, counts, async (key, [n, t]) => {
        const shares = await split(key, n, t);
        expect(new Set(shares.map((s) => s[32])).size).toBe(n); // distinct non-zero x coordinates
        for (const s of shares) expect(s[32]).not.toBe(0);
        const pick = shares.slice(0, t);
        const got = key.map((_, byte) => at0(pick.map((s) => [s[32] ?? 0, s[byte] ?? 0])));
        expect(Buffer.from(got).equals(Buffer.from(key))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

describe('recovery-kit split / combine', () => {
  it('any threshold-sized subset of shares gives the key back; the kit id verifies it', async () => {
    await fc.assert(
      fc.asyncProperty(key32, counts, fc.infiniteStream(fc.nat()), async (key, [n, t], rnd) => {
        const shares = await splitKey(Buffer.from(key), n, t);
        expect(shares.map((s) => s.number)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        // a random subset of size t..n, in random order
        const order = shares.map((s) => ({ s, k: rnd.next().value })).sort((a, b) => a.k - b.k).map((x) => x.s);
        const size = t + ((rnd.next().value as number) % (n - t + 1));
        const back = await combineShares(order.slice(0, size).map((s) => s.line));
        expect(back.equals(Buffer.from(key))).toBe(true);
        expect(kitIdOf(back)).toBe(shares[0]?.kitId);
      }),
      { numRuns: 60 },
    );
  });

  it('fewer than the threshold is refused, naming how many are needed', async () => {
    const shares = await splitKey(randomBytes(32), 5, 3);
    await expect(combineShares([shares[0]!.line, shares[3]!.line])).rejects.toThrow(/needs 3 different shares; got 2/);
    await expect(combineShares([shares[0]!.line, shares[0]!.line, shares[1]!.line])).rejects.toThrow(/got 2/);
  });

  it('threshold-1 shares are equally consistent with every secret (t = 2 and t = 3, exhaustively per byte)', async () => {
    // t = 2: one share (x, y). For each candidate secret s, count slopes a with s ^ a·x = y.
    const [one] = await split(Uint8Array.from(randomBytes(32)), 3, 2);
    const x1 = one![32]!;
    for (const byte of [0, 17, 31]) {
      const y = one![byte]!;
      for (let s = 0; s < 256; s++) {
        let n = 0;
        for (let a = 0; a < 256; a++) if ((s ^ gmul(a, x1)) === y) n++;
        expect(n, `secret ${s}`).toBe(1);
      }
    }
    // t = 3: two shares. For each secret s, count (a1, a2) consistent with both (exactly one each).
    const two = await split(Uint8Array.from(randomBytes(32)), 4, 3);
    const [p, q] = [two[0]!, two[2]!];
    const [xp, xq, yp, yq] = [p[32]!, q[32]!, p[5]!, q[5]!];
    const mulP = Array.from({ length: 256 }, (_, a) => [gmul(a, xp), gmul(gmul(a, xp), xp)] as const);
    const mulQ = Array.from({ length: 256 }, (_, a) => [gmul(a, xq), gmul(gmul(a, xq), xq)] as const);
    const perSecret = new Array<number>(256).fill(0);
    for (let a1 = 0; a1 < 256; a1++) {
      for (let a2 = 0; a2 < 256; a2++) {
        const sp = yp ^ mulP[a1]![0] ^ mulP[a2]![1];
        const sq = yq ^ mulQ[a1]![0] ^ mulQ[a2]![1];
        if (sp === sq) perSecret[sp]!++;
      }
    }
    expect(new Set(perSecret)).toEqual(new Set([1]));
  });

  it('a mistyped character fails the check digits; shares of two kits, or a damaged share, are refused', async () => {
    const a = await splitKey(randomBytes(32), 3, 2);
    const b = await splitKey(randomBytes(32), 3, 2);
    const line = a[0]!.line;
    const pos = 30;
    const typo = line.slice(0, pos) + (line[pos] === 'A' ? 'B' : 'A') + line.slice(pos + 1);
    expect(() => parseShare(typo)).toThrow(/check digits/);
    expect(() => parseShare('hello')).toThrow(/not a recovery-kit share/);
    await expect(combineShares([a[0]!.line, b[1]!.line])).rejects.toThrow(/belongs to kit/);
    // Typed back in lower case, grouped with spaces and line breaks: still the same share.
    const grouped = line.toLowerCase().replace(/(.{5})/g, '$1 ').replace(/ (.{3})/, '\n$1');
    expect(parseShare(grouped).line).toBe(line);
    // A share whose data was altered and its check recomputed: combine detects the wrong key.
    const s = a[1]!;
    const data = Buffer.from(s.data);
    data[0] = (data[0]! + 1) & 0xff;
    const forged = await import('node:crypto').then(({ createHash }) => {
      const body = `RMKIT1-${s.kitId}-2-3-${s.number}-${data.toString('hex').toUpperCase()}`;
      return `${body}-${createHash('sha256').update(body).digest().subarray(0, 4).toString('hex').toUpperCase()}`;
    });
    await expect(combineShares([a[0]!.line, forged])).rejects.toThrow(/do not combine to kit/);
  });

  it('refuses counts outside 2..255 and a threshold above the share count', async () => {
    await expect(splitKey(randomBytes(32), 1, 1)).rejects.toThrow(RecoveryKitError);
    await expect(splitKey(randomBytes(32), 3, 4)).rejects.toThrow(/--threshold must be a whole number from 2 to --shares \(3\)/);
    await expect(splitKey(randomBytes(32), 256, 2)).rejects.toThrow(/--shares/);
    await expect(splitKey(randomBytes(16), 3, 2)).rejects.toThrow(/32 bytes/);
    // The library itself agrees on the round trip at the extremes.
    const big = await split(Uint8Array.from(randomBytes(32)), 255, 255);
    expect((await combine(big)).length).toBe(32);
  });
});
