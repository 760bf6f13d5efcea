/**
 * Exclude semantics, written from vaultik's documented rules (issue 19 summarises them; the Go
 * module proxy did not serve vaultik on this machine, so its README could not be re-read here):
 *
 *  R1 "A pattern with a leading `/` is anchored to the source directory's root":
 *     `/cache` means `<source>/cache`, never the absolute path `/cache`.
 *  R2 "A pattern with a `/` inside (`foo/bar`) matches anywhere": at any depth below a source root.
 *  R3 A pattern without `/` (`*.log`) matches a name at any depth.
 *  R4 `**` crosses directory boundaries; `*`, `?` and `[...]` stay inside one path segment.
 *  R5 "Directory patterns prune subtrees": when a directory matches, nothing below it is backed up.
 *  R6 (gitignore convention, kept here) a trailing `/` restricts a pattern to directories.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { Excluder } from '../src/exclude.js';
import { walk } from '../src/walk.js';
import { writeTree } from './helpers.js';

type Row = [rule: string, pattern: string, rel: string, isDir: boolean, excluded: boolean];

// Paths are relative to the source root being walked.
const TABLE: Row[] = [
  ['R1', '/cache', 'cache', true, true],
  ['R1', '/cache', 'cache/blob.bin', false, true],
  ['R1', '/cache', 'home/cache', true, false],
  ['R1', '/cache', 'cachet', true, false],
  ['R1', '/var/tmp', 'var/tmp', true, true],
  ['R1', '/var/tmp', 'x/var/tmp', true, false],
  ['R1', '/*.iso', 'disk.iso', false, true],
  ['R1', '/*.iso', 'images/disk.iso', false, false],
  ['R2', 'foo/bar', 'foo/bar', true, true],
  ['R2', 'foo/bar', 'a/b/foo/bar', true, true],
  ['R2', 'foo/bar', 'a/foo/bar/file.txt', false, true],
  ['R2', 'foo/bar', 'afoo/bar', true, false],
  ['R2', 'foo/bar', 'foo/barn', true, false],
  ['R2', 'foo/bar', 'foo/x/bar', true, false],
  ['R2', '.cache/thumbnails', 'home/u/.cache/thumbnails/1.png', false, true],
  ['R2', 'src/*.o', 'proj/src/main.o', false, true],
  ['R2', 'src/*.o', 'proj/src/sub/main.o', false, false],
  ['R3', '*.log', 'app.log', false, true],
  ['R3', '*.log', 'var/log/deep/app.log', false, true],
  ['R3', '*.log', 'app.log.1', false, false],
  ['R3', 'node_modules', 'web/node_modules', true, true],
  ['R3', 'node_modules', 'web/node_modules/react/index.js', false, true],
  ['R3', 'node_modules', 'web/node_modules_old', true, false],
  ['R3', '*', 'anything/at/all', false, true],
  ['R3', '.*', 'home/u/.bashrc', false, true],
  ['R3', '?.tmp', 'a.tmp', false, true],
  ['R3', '?.tmp', 'ab.tmp', false, false],
  ['R3', '[ab].txt', 'x/b.txt', false, true],
  ['R3', '[!ab].txt', 'x/b.txt', false, false],
  ['R3', '[!ab].txt', 'x/c.txt', false, true],
  ['R4', '**/build', 'build', true, true],
  ['R4', '**/build', 'a/b/c/build', true, true],
  ['R4', 'docs/**', 'docs/a/b.md', false, true],
  ['R4', 'docs/**', 'docs', true, false],
  ['R4', '/docs/**/*.pdf', 'docs/2024/q1/report.pdf', false, true],
  ['R4', '/docs/**/*.pdf', 'docs/report.pdf', false, true],
  ['R4', '/docs/**/*.pdf', 'other/docs/report.pdf', false, false],
  ['R4', 'a/**/z', 'x/a/b/c/z', true, true],
  ['R4', '/a/*/z', 'a/b/c/z', true, false],
  ['R4', '/a/*/z', 'a/b/z', true, true],
  ['R5', '/data/tmp', 'data/tmp/a/b/c/d.bin', false, true],
  ['R5', 'tmp', 'x/tmp/keep.txt', false, true],
  ['R6', 'logs/', 'srv/logs', true, true],
  ['R6', 'logs/', 'srv/logs', false, false],
  ['R6', 'logs/', 'srv/logs/today.txt', false, true],
  ['R6', '/build/', 'build', true, true],
  ['R6', '/build/', 'build', false, false],
  ['--', 'a\\*b', 'a*b', false, true],
  ['--', 'a\\*b', 'axb', false, false],
  ['--', 'file.txt', 'filextxt', false, false],
];

describe('Excluder: vaultik exclude rules (pattern x path table)', () => {
  it.each(TABLE)('%s: %s on %s (dir=%s) -> excluded=%s', (_rule, pattern, rel, isDir, want) => {
    expect(new Excluder([pattern]).excludes(rel, isDir)).toBe(want);
  });

  it('the table has at least 30 rows and covers every rule', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(30);
    expect(new Set(TABLE.map((r) => r[0]))).toEqual(new Set(['R1', 'R2', 'R3', 'R4', 'R5', 'R6', '--']));
  });

  it('the source root itself and empty patterns never match', () => {
    const e = new Excluder(['', '/', '*']);
    expect(e.excludes('', true)).toBe(false);
    expect(new Excluder(['', '/']).empty).toBe(true);
  });
});

describe('walk applies the patterns relative to each source root and prunes matching directories', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await tempDir('vault-excl-');
    writeTree(dir.path, {
      'a/cache/x': '1', 'a/keep/cache/y': '2', 'a/proj/foo/bar/z': '3', 'a/foo/bar/w': '4', 'a/foo/barx': '5', 'a/n.log': '6',
      'b/cache/x': '7', 'b/deep/n.log': '8', 'b/ok.txt': '9',
    });
  });
  afterAll(() => dir.cleanup());

  it('anchored patterns apply below every root; a/b matches anywhere; matched directories are not entered', async () => {
    const roots = [path.join(dir.path, 'a'), path.join(dir.path, 'b')];
    const seen: string[] = [];
    for await (const e of walk(roots, new Excluder(['/cache', 'foo/bar', '*.log']), () => undefined)) seen.push(path.relative(dir.path, e.path));
    expect(seen).toEqual(['a', 'a/foo', 'a/foo/barx', 'a/keep', 'a/keep/cache', 'a/keep/cache/y', 'a/proj', 'a/proj/foo', 'b', 'b/deep', 'b/ok.txt']);
  });

  it('an absolute path outside the root does not match (vaultik: /x is relative to the source)', async () => {
    const root = path.join(dir.path, 'a');
    const seen: string[] = [];
    for await (const e of walk([root], new Excluder([`${root}/cache`]), () => undefined)) seen.push(path.relative(root, e.path));
    expect(seen).toContain('cache/x');
  });
});
