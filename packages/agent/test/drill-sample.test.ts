import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rootOf, sampleFiles, type SampleFile, type SampleOptions } from '../src/jobs/drill-sample.js';

const ROOTS = ['/etc', '/home', '/srv/data'];
const file = fc.record({
  path: fc.tuple(fc.constantFrom(...ROOTS, '/var'), fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 3 })).map(([r, p]) => `${r}/${p.join('/')}`),
  size: fc.nat({ max: 1_000_000 }),
});
const files = fc.uniqueArray(file, { selector: (f) => f.path, maxLength: 200 });
const opts = fc.record({ count: fc.integer({ min: 1, max: 40 }), bytes: fc.integer({ min: 1, max: 5_000_000 }), seed: fc.string({ minLength: 1, maxLength: 8 }), roots: fc.constant(ROOTS) });

const paths = (fs: SampleFile[]): string[] => fs.map((f) => f.path);
const largestSize = (fs: SampleFile[]): number => Math.max(...fs.map((f) => f.size));

describe('restore drill sampling', () => {
  it('is reproducible: the same files, seed and options sample the same files, whatever their order', () => {
    fc.assert(fc.property(files, opts, fc.nat(), (fs, o, shift) => {
      const rotated = [...fs.slice(shift % (fs.length || 1)), ...fs.slice(0, shift % (fs.length || 1))].reverse();
      expect(paths(sampleFiles(rotated, o).files)).toEqual(paths(sampleFiles(fs, o).files));
    }));
  });

  it('always takes the largest file and one file under each top-level path that holds one', () => {
    fc.assert(fc.property(files, opts, (fs, o) => {
      const s = sampleFiles(fs, o);
      if (fs.length === 0) {
        expect(s.files).toEqual([]);
        return;
      }
      expect(s.files.some((f) => f.size === largestSize(fs))).toBe(true);
      for (const root of new Set(fs.map((f) => rootOf(f.path, ROOTS)))) {
        expect(s.files.some((f) => rootOf(f.path, ROOTS) === root), `a file under ${root}`).toBe(true);
      }
    }));
  });

  it('takes only listed files, each once, and beyond the required ones stays within the count and byte budget', () => {
    fc.assert(fc.property(files, opts, (fs, o: SampleOptions) => {
      const s = sampleFiles(fs, o);
      const listed = new Map(fs.map((f) => [f.path, f.size]));
      expect(new Set(paths(s.files)).size).toBe(s.files.length);
      for (const f of s.files) expect(listed.get(f.path)).toBe(f.size);
      const roots = new Set(fs.map((f) => rootOf(f.path, ROOTS)));
      expect(s.files.length).toBeLessThanOrEqual(o.count + 1 + roots.size);
      // Without the required files (at most 1 + roots), the rest fits the byte budget.
      const sorted = s.files.map((f) => f.size).sort((a, b) => b - a);
      const optional = sorted.slice(1 + roots.size).reduce((a, b) => a + b, 0);
      expect(optional).toBeLessThanOrEqual(o.bytes);
      expect(s.seenFiles).toBe(fs.length);
      expect(s.seenBytes).toBe(fs.reduce((a, f) => a + f.size, 0));
    }));
  });

  it('different seeds pick different samples of a large snapshot', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ path: `/home/f${i}`, size: 10 }));
    const a = paths(sampleFiles(many, { count: 20, bytes: 1e9, seed: 'a', roots: ['/home'] }).files);
    const b = paths(sampleFiles(many, { count: 20, bytes: 1e9, seed: 'b', roots: ['/home'] }).files);
    expect(a).not.toEqual(b);
    expect(a.length).toBe(21); // 20 by score + the largest (all equal: the lowest score, also the root's)
  });

  it('files under a root are grouped by the longest matching snapshot path, else their first component', () => {
    expect(rootOf('/srv/data/x', ['/srv', '/srv/data'])).toBe('/srv/data');
    expect(rootOf('/srv/other/x', ['/srv', '/srv/data'])).toBe('/srv');
    expect(rootOf('/opt/x/y', ['/srv'])).toBe('/opt');
    expect(rootOf('/srvx/y', ['/srv'])).toBe('/srvx');
  });
});

describe('restic mtimes to nanoseconds', () => {
  it('reads RFC 3339 times with 0–9 fractional digits and an offset exactly', async () => {
    const { isoToNs } = await import('../src/jobs/drill-check.js');
    expect(isoToNs('2026-12-02T18:40:00.259916126Z')).toBe(1796236800259916126n);
    expect(isoToNs('2026-12-02T19:40:00.259916126+01:00')).toBe(1796236800259916126n);
    expect(isoToNs('2026-12-02T18:40:00Z')).toBe(1796236800000000000n);
    expect(isoToNs('2026-12-02T18:40:00.5Z')).toBe(1796236800500000000n);
    expect(isoToNs('not a time')).toBeNull();
  });
});
