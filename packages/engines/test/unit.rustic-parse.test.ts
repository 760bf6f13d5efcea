import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classify } from '../src/classify.js';
import { policyArgs, rusticDuration } from '../src/policy.js';
import { isObj, parseBackupSummary } from '../src/restic/parse.js';
import { refineRusticError } from '../src/rustic/errors.js';
import { parseRusticLsLong } from '../src/rustic/ls.js';
import {
  parseRusticDiffLine, parseRusticForget, parseRusticKeyIds, parseRusticRestoreFiles, parseRusticSnapshots, parseRusticVersion,
  splitJsonValues, unquoteRust,
} from '../src/rustic/parse.js';
import { rusticReadDataArgs } from '../src/rustic/check.js';
import { rusticRestoreArgs } from '../src/rustic/restore.js';
import { parseRusticRepoinfo, restoreSizeFromSnapshots } from '../src/rustic/stats.js';

/** Real rustic output; see fixtures/rustic/SOURCES.md (the -v0.11.4 files were recorded here). */
const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/rustic/${name}`, import.meta.url)), 'utf8');

describe('rustic-rs 0.11.4 output, recorded here', () => {
  it('snapshots --json: groups of {group_key, snapshots}, parent links kept', () => {
    const snaps = parseRusticSnapshots(JSON.parse(fixture('snapshots-v0.11.4.json')));
    expect(snaps.map((s) => [s.shortId, s.tags, s.hostname, s.paths])).toEqual([
      ['87c17056', ['t1'], 'fixture-host', ['/tmp/rustic-helper-fx/src']],
      ['c36137f4', ['t2'], 'fixture-host', ['/tmp/rustic-helper-fx/src']],
    ]);
    expect(snaps[1]?.parent).toBe(snaps[0]?.id);
    expect(snaps[0]?.username).toBeUndefined(); // rustic stores "" when it has no user name
  });

  it('forget --json: groups of {group_key, items: [{snapshot, keep, reasons}]}', () => {
    const r = parseRusticForget(JSON.parse(fixture('forget-v0.11.4.json')));
    expect(r.keep.map((s) => s.shortId)).toEqual(['c36137f4']);
    expect(r.remove.map((s) => s.shortId)).toEqual(['87c17056']);
    expect(Object.entries(r.reasons).map(([id, why]) => [id.slice(0, 8), why])).toEqual([['c36137f4', ['last']]]);
  });

  it('--json-progress backup: restic-style status lines, then a summary with the full snapshot id', () => {
    const msgs = fixture('backup-progress-v0.11.4.jsonl').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(msgs.slice(0, -1).every((m) => isObj(m) && m.message_type === 'status' && typeof m.bytes_done === 'number')).toBe(true);
    const last = msgs.at(-1);
    expect(isObj(last) && last.message_type).toBe('summary');
    const s = parseBackupSummary(last as Record<string, unknown>, []);
    expect(s).toMatchObject({ snapshotId: '87c17056e41ec7786a0ad4cdcaa44d6a6513ac0e94e5fc3aabcff3b1065c7920', filesNew: 6, totalFilesProcessed: 6, totalBytesProcessed: 200026, dataAdded: 203227 });
  });

  it('stats: restore-size adds up the stored summaries; raw-data from repoinfo --json', () => {
    expect(restoreSizeFromSnapshots(JSON.parse(fixture('snapshots-v0.11.4.json')))).toEqual({ totalSize: 200026 + 200041, totalFileCount: 12, snapshotsCount: 2 });
    expect(restoreSizeFromSnapshots([])).toEqual({ totalSize: 0, totalFileCount: 0, snapshotsCount: 0 });
    expect(parseRusticRepoinfo(JSON.parse(fixture('repoinfo-v0.11.4.json')))).toEqual({
      totalSize: 2771 + 294, totalFileCount: 0, rawSize: 2771 + 294, uncompressedSize: 5381 + 200034, blobCount: 17, snapshotsCount: 2,
    });
  });

  it('ls --long --numeric-uid-gid: type, mode, size, owner and an absolute path per line', () => {
    const entries = fixture('ls-long-v0.11.4.txt').split('\n').map((l) => parseRusticLsLong(l)).filter((e) => e !== undefined);
    expect(entries).toHaveLength(11);
    expect(entries[0]).toEqual({ name: 'tmp', path: '/tmp', type: 'dir', mode: 0o755 });
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('link')).toMatchObject({ type: 'symlink', path: '/tmp/rustic-helper-fx/src/bin/link', mode: 0o777, uid: 0, gid: 0 });
    expect(byName.get('zeros.bin')).toMatchObject({ type: 'file', size: 200000, mode: 0o644 });
    expect(byName.get('say "hi".txt')?.path).toBe('/tmp/rustic-helper-fx/src/docs/say "hi".txt');
    expect(byName.get('über.txt')?.size).toBe(3);
    expect(new Date(byName.get('a.txt')?.mtime ?? '').getMinutes()).toBe(52);
    // below a directory, paths are relative to it
    expect(parseRusticLsLong('-rw-r--r--        0        0         6  2 Dec 2026 14:52 "a.txt" ', '/srv/docs')?.path).toBe('/srv/docs/a.txt');
    expect(parseRusticLsLong('Files   : 4 =, 0 +')).toBeUndefined();
  });

  it('diff: changed paths, the totals are skipped', () => {
    const changes = fixture('diff-v0.11.4.txt').split('\n').map(parseRusticDiffLine).filter((c) => c !== undefined);
    expect(changes).toEqual([{ modifier: 'M', path: '/tmp/rustic-helper-fx/src/docs/a.txt' }]);
  });

  it('restore: the "Files:" plan line gives the files written', () => {
    const counts = fixture('restore-progress-v0.11.4.txt').split('\n').map(parseRusticRestoreFiles).filter((n) => n !== undefined);
    expect(counts).toEqual([5]);
  });

  it('list keys: KeyId(<hex>) lines', () => {
    expect(parseRusticKeyIds(fixture('list-keys-v0.11.4.txt'))).toEqual(['6fdb0387c4ad88d6adb12e77bfd5939bf587c31b694d2fa9c5bca4580b166b3f']);
  });

  it.each([
    ['stderr-wrong-password-v0.11.4.txt', 'wrong_password', /^The password that has been entered, seems to be incorrect/],
    ['stderr-no-repository-v0.11.4.txt', 'no_repository', /^No repository config file found for `local:/],
    // the robustness harness's full-disk fault on rustic: the reason is only under "Caused by:"
    ['stderr-disk-full-v0.11.4.txt', 'failed', /^Failed to write to the buffer: .*\(caused by: No space left on device \(os error 28\)\)$/],
  ])('%s -> %s with the sentence after "Message:" as the message', (file, kind, message) => {
    const stderrTail = fixture(file).split('\n');
    const e = classify('snapshots', { exitCode: 1, signal: null, aborted: false, timedOut: false, stderrTail, durationMs: 5 }, 'rustic');
    expect(e?.kind).toBe(kind);
    expect(refineRusticError(e!).message).toMatch(message);
  });
});

describe('rustic output of older versions (recorded by others; see SOURCES.md)', () => {
  it('snapshots --json, rustic 0.10.2 grouping and the <= 0.9 [[group, [snapshots]]] shape', () => {
    const v010 = JSON.parse(fixture('snapshots-v0.10.2.json')) as { group_key: unknown; snapshots: unknown[] }[];
    expect(parseRusticSnapshots(v010).map((s) => s.shortId)).toEqual(['94623bd2']);
    expect(parseRusticSnapshots(v010.map((g) => [g.group_key, g.snapshots])).map((s) => s.shortId)).toEqual(['94623bd2']);
  });

  it('forget --json entries of rustic 0.9', () => {
    const r = parseRusticForget(JSON.parse(fixture('forget-v0.9.0.json')));
    expect(r.keep.map((s) => s.shortId)).toEqual(['fcebc56c']);
    expect(r.remove).toEqual([]);
  });

  it('splitJsonValues: concatenated pretty-printed objects, braces inside strings, a truncated tail', () => {
    const one = fixture('backup-v0.10.2.json').trim();
    const two = splitJsonValues(`${one}${one}\nsome log line`);
    expect(two.values).toHaveLength(2);
    expect(two.other).toEqual(['some log line']);
    const { values, other } = splitJsonValues('{"a":"}{[\\"x"} [1,2] {"b":');
    expect(values).toEqual([{ a: '}{["x' }, [1, 2]]);
    expect(other).toEqual(['{"b":']);
  });

  it('--version', () => {
    expect(parseRusticVersion('rustic 0.11.4')).toBe('0.11.4');
    expect(parseRusticVersion('rustic v0.10.2-1-g189b17c')).toBe('0.10.2');
  });
});

describe('rustic argument mapping', () => {
  it('Rust {:?} strings: escapes, \\u{..}, non-UTF-8 bytes, characters outside the BMP', () => {
    expect(unquoteRust('"a \\"b\\" \\\\ \\n\\t\\0 \\\'"')).toBe('a "b" \\ \n\t\0 \'');
    expect(unquoteRust('"esc\\u{1b}[0m"')).toBe('esc\u001b[0m');
    expect(unquoteRust('"caf\\xc3\\xa9"')).toBe('café');
    expect(unquoteRust('"😀.txt"')).toBe('😀.txt');
    expect(unquoteRust('"unterminated')).toBeUndefined();
    expect(unquoteRust('"a" "b"')).toBeUndefined();
  });

  it('retention: --keep-tags, and keep-within months as "mo" (rustic reads "m" as minutes)', () => {
    expect(policyArgs({ keepLast: 2, keepTags: ['a', 'b'], keepWithin: '1y6m' }, 'rustic')).toEqual(['--keep-last', '2', '--keep-within', '1y6mo', '--keep-tags', 'a', '--keep-tags', 'b']);
    expect(policyArgs({ keepTags: ['a'], keepWithin: '1y6m' })).toEqual(['--keep-within', '1y6m', '--keep-tag', 'a']);
    expect(rusticDuration('3h2d1m2d')).toBe('1mo4d3h');
    expect(rusticDuration('0d')).toBe('0h');
    expect(rusticDuration('7 days')).toBe('7 days');
  });

  it('restore include/exclude name a subtree, as in restic: each glob gets its /** twin', () => {
    expect(rusticRestoreArgs({ snapshot: 'abcd1234', target: '/r', include: ['/srv/a/'], exclude: ['*.tmp'], verify: true })).toEqual([
      'restore', '--glob', '/srv/a/', '--glob', '/srv/a/**', '--glob', '!*.tmp', '--glob', '!*.tmp/**', '--verify-existing', '--', 'abcd1234', '/r',
    ]);
  });
});

describe('rustic check: --read-data arguments for a restic-style subset', () => {
  const at = (r: number) => () => r;
  it('a percentage becomes the id subset n/⌊100/x⌋ with n drawn at random (rustic\'s own x% can read no pack)', () => {
    expect(rusticReadDataArgs('10%', undefined, at(0))).toEqual(['--read-data', '--read-data-subset', '1/10']);
    expect(rusticReadDataArgs('10%', undefined, at(0.999999))).toEqual(['--read-data', '--read-data-subset', '10/10']);
    expect(rusticReadDataArgs('30%', undefined, at(0.5))).toEqual(['--read-data', '--read-data-subset', '2/3']);
    expect(rusticReadDataArgs('2.5%', undefined, at(0.1))).toEqual(['--read-data', '--read-data-subset', '5/40']);
    // every n of 1..m comes up
    const seen = new Set(Array.from({ length: 4 }, (_, i) => rusticReadDataArgs('25%', undefined, at(i / 4 + 0.01))[2]));
    expect([...seen].sort()).toEqual(['1/4', '2/4', '3/4', '4/4']);
  });
  it('more than half, or all of it, is a plain --read-data; n/t and sizes pass through; none is metadata only', () => {
    expect(rusticReadDataArgs('100%', undefined)).toEqual(['--read-data']);
    expect(rusticReadDataArgs('60%', undefined)).toEqual(['--read-data']);
    expect(rusticReadDataArgs('3/7', undefined)).toEqual(['--read-data', '--read-data-subset', '3/7']);
    expect(rusticReadDataArgs('500MiB', undefined)).toEqual(['--read-data', '--read-data-subset', '500MiB']);
    expect(rusticReadDataArgs(undefined, true)).toEqual(['--read-data']);
    expect(rusticReadDataArgs(undefined, undefined)).toEqual([]);
  });
});
