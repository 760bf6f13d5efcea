import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRusticBackup, parseRusticForget, parseRusticLsLine, parseRusticSnapshots, parseRusticVersion, splitJsonValues } from '../src/rustic/parse.js';

/** Fixtures recorded from real rustic binaries by others; see fixtures/rustic/SOURCES.md. */
const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/rustic/${name}`, import.meta.url)), 'utf8');

describe('rustic output parsers (recorded fixtures)', () => {
  it('snapshots --json, rustic >= 0.10 grouping', () => {
    const snaps = parseRusticSnapshots(JSON.parse(fixture('snapshots-v0.10.2.json')));
    expect(snaps).toEqual([
      {
        id: '94623bd2d76a2512763325330fc27a00ac9f79f2d5bb883c3efa99ec0e99f42e',
        shortId: '94623bd2',
        time: '2025-12-08T16:19:25.736493671-08:00',
        hostname: 'project-f9296958-84f2-4965-947b-78cd4a92f49a',
        paths: ['.'],
        tags: [],
        tree: 'ab76d793af77aad8459244a3ebc9673a45ad7eb00d247aaf572c7e95d0fb8582',
      },
    ]);
  });

  it('snapshots --json, rustic <= 0.9 grouping [[group, [snapshots]]]', () => {
    const v010 = JSON.parse(fixture('snapshots-v0.10.2.json')) as { group_key: unknown; snapshots: unknown[] }[];
    const old = v010.map((g) => [g.group_key, g.snapshots]);
    expect(parseRusticSnapshots(old).map((s) => s.shortId)).toEqual(['94623bd2']);
  });

  it('backup --json: the printed SnapshotFile becomes a BackupSummary, also when several are concatenated', () => {
    const one = fixture('backup-v0.10.2.json');
    const { values, other } = splitJsonValues(`${one.trim()}${one.trim()}\nsome log line`);
    expect(values).toHaveLength(2);
    expect(other).toEqual(['some log line']);
    expect(parseRusticBackup(values[0])).toEqual({
      snapshotId: '94623bd2',
      filesNew: 10,
      filesChanged: 0,
      filesUnmodified: 0,
      dirsNew: 27,
      dirsChanged: 0,
      dirsUnmodified: 0,
      dataBlobs: 6,
      treeBlobs: 23,
      dataAdded: 8435,
      totalFilesProcessed: 10,
      totalBytesProcessed: 2622,
      durationSeconds: 0.030546882,
      errors: [],
    });
  });

  it('splitJsonValues copes with braces inside strings and a truncated tail', () => {
    const { values, other } = splitJsonValues('{"a":"}{[\\"x"} [1,2] {"b":');
    expect(values).toEqual([{ a: '}{["x' }, [1, 2]]);
    expect(other).toEqual(['{"b":']);
  });

  it('forget --json entries split into keep and remove', () => {
    const r = parseRusticForget(JSON.parse(fixture('forget-v0.9.0.json')));
    expect(r.keep.map((s) => s.shortId)).toEqual(['fcebc56c']);
    expect(r.keep[0]?.parent).toMatch(/^c8c72cad/);
    expect(r.remove).toEqual([]);
  });

  it('ls lines and --version', () => {
    expect(parseRusticLsLine('"docs/a \\"quoted\\".txt" ')).toBe('docs/a "quoted".txt');
    expect(parseRusticLsLine('   ')).toBeUndefined();
    expect(parseRusticVersion('rustic v0.10.2-1-g189b17c')).toBe('0.10.2');
    expect(parseRusticVersion('rustic 0.9.5')).toBe('0.9.5');
  });
});
