import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addDiffLine, goModeToPosix, parseBackupSummary, parseForgetGroups, parseLsNode, parseSnapshotList, parseStats, parseVersion, statusToProgress, describeBackupError, versionAtLeast } from '../src/restic/parse.js';
import type { DiffResult } from '@restic-manager/engines';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/restic-0.14/${name}`, import.meta.url)), 'utf8');
const jsonl = (name: string): Record<string, unknown>[] => fixture(name).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('restic 0.14 output parsers (recorded fixtures)', () => {
  it('backup: status lines become progress, the summary becomes a BackupSummary', () => {
    const msgs = jsonl('backup.jsonl');
    const statuses = msgs.filter((m) => m.message_type === 'status').map((m) => statusToProgress(m, null, 1));
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.at(-1)).toMatchObject({ percentDone: 1, filesDone: 3, totalFiles: 3, bytesDone: 30000012, totalBytes: 30000012, currentFiles: ['/src/big.bin'], elapsedSeconds: 1 });
    const s = parseBackupSummary(msgs.find((m) => m.message_type === 'summary')!, []);
    expect(s).toMatchObject({ snapshotId: '5407541e', filesNew: 3, dirsNew: 2, dataBlobs: 18, treeBlobs: 3, totalBytesProcessed: 30000012 });
    expect(s.durationSeconds).toBeCloseTo(0.508, 2);
  });

  it('backup error messages (restic 0.14 writes them to stderr) are described with their path', () => {
    const m = JSON.parse('{"message_type":"error","error":{"Op":"open","Path":"/tmp/x/pt/src/locked","Err":13},"during":"archival","item":"/tmp/x/pt/src/locked"}') as Record<string, unknown>;
    expect(describeBackupError(m)).toBe('archival: /tmp/x/pt/src/locked: open /tmp/x/pt/src/locked: 13');
  });

  it('snapshots', () => {
    const snaps = parseSnapshotList(JSON.parse(fixture('snapshots.json')));
    expect(snaps).toHaveLength(2);
    expect(snaps[1]).toMatchObject({ shortId: 'f26a8733', hostname: 'fixture-host', tags: ['t2'] });
    expect(snaps[0]?.tags).toEqual([]);
    expect(snaps[1]?.id).toHaveLength(64);
  });

  it('ls nodes: types, POSIX modes, sizes; the leading snapshot line is skipped', () => {
    const entries = jsonl('ls.jsonl').map(parseLsNode);
    expect(entries[0]).toBeUndefined();
    const byName = new Map(entries.filter((e) => e).map((e) => [e!.name, e!]));
    expect(byName.get('a.txt')).toMatchObject({ type: 'file', mode: 0o640, size: 8, path: '/src/a.txt' });
    expect(byName.get('link')).toMatchObject({ type: 'symlink', mode: 0o777 });
    expect(byName.get('sub')).toMatchObject({ type: 'dir', mode: 0o755 });
    expect(goModeToPosix(2 ** 31 + 2 ** 20 + 0o777)).toBe(0o1777); // sticky dir (/tmp)
    expect(goModeToPosix(2 ** 23 + 0o755)).toBe(0o4755); // setuid
  });

  it('stats, diff, forget, version', () => {
    expect(parseStats(JSON.parse(fixture('stats-restore-size.json')), 'restore-size')).toEqual({ totalSize: 30000014, totalFileCount: 6, snapshotsCount: 1 });
    expect(parseStats(JSON.parse(fixture('stats-raw-data.json')), 'raw-data')).toMatchObject({ totalSize: 30004351, rawSize: 30004351, blobCount: 24 });
    const diff: DiffResult = { changes: [], stats: {} };
    for (const m of jsonl('diff.jsonl')) addDiffLine(diff, m);
    expect(diff.changes).toEqual([{ path: '/src/a.txt', modifier: 'M' }]);
    expect(diff.stats).toMatchObject({ changed_files: 1, source_snapshot: '5407541e' });
    const forget = parseForgetGroups(JSON.parse(fixture('forget.json')));
    // Two groups (the second backup used another host), each keeps its only snapshot.
    expect(forget.keep.map((s) => s.shortId)).toEqual(['f26a8733', '5407541e']);
    expect(forget.remove).toEqual([]); // "remove": null in restic 0.14 when a group loses nothing
    expect(parseVersion('restic 0.14.0 compiled with go1.19.8 on linux/amd64')).toBe('0.14.0');
    expect(versionAtLeast('0.14.0', '0.16.0')).toBe(false);
    expect(versionAtLeast('0.17.3', '0.16.0')).toBe(true);
  });
});
