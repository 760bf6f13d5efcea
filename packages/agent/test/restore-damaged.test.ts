import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { runRestore } from '../src/jobs/restore-run.js';

/*
 * Issue 22: a restore from a repository with a damaged pack. restic 0.14 prints
 * "ignoring error for /path: ciphertext verification failed", ends with "There were 1 errors"
 * and leaves the file full-size with wrong content. The agent names the file and why, and
 * removes it, so no damaged file is left under its final name; the other files are restored.
 */
const restic = requireTool('restic');
const PW = 'damaged-pack-test-pw';

describe.skipIf(!restic.ok)('restore from a damaged pack (real restic)', () => {
  let tmp: TempDir;
  let conn: Connection;
  let src: string;
  const engine = createEngine('restic');
  const good = randomBytes(64);
  beforeAll(async () => {
    tmp = await tempDir('rm-damaged-');
    src = path.join(tmp.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'big: name.bin'), randomBytes(3_000_000));
    fs.writeFileSync(path.join(src, 'small.txt'), good);
    conn = { repository: path.join(tmp.path, 'repo'), password: PW };
    expect((await engine.init(conn)).ok).toBe(true);
    expect((await engine.backup(conn, { paths: [src] })).ok).toBe(true);
    // Flip one byte inside the pack that holds the big file's data (the only pack over 1 MB).
    const packs = spawnSync('find', [path.join(conn.repository, 'data'), '-type', 'f', '-size', '+1M'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(packs).toHaveLength(1);
    const buf = fs.readFileSync(packs[0]!);
    buf[1000] = buf[1000]! ^ 0xff;
    fs.writeFileSync(packs[0]!, buf);
  }, 60_000);
  afterAll(async () => tmp?.cleanup());

  it('names the damaged file and why, removes it from the target, and restores the rest', async () => {
    const target = path.join(tmp.path, 'out');
    const lines: string[] = [];
    const r = await runRestore(engine, conn, { snapshot_id: 'latest', target, include: [], exclude: [], verify: false }, { onLine: (l) => lines.push(l.line) });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const big = path.join(src, 'big: name.bin');
    // restic either leaves the file full-size (then the agent removes it) or never creates it (then
    // it also reports "UtimesNano: no such file or directory" for the same file): one file either way.
    const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(r.message).toMatch(new RegExp(`^1 file\\(s\\) could not be restored: ${esc(big)} \\(ciphertext verification failed(; UtimesNano: [^)]*)?\\)(; it was removed from ${esc(target)} so no damaged file is left under its name)?; every other file was restored$`));
    expect(lines).toContain(`restic-manager: ${r.message}`);
    expect(fs.existsSync(path.join(target, big))).toBe(false);
    expect(fs.readFileSync(path.join(target, src, 'small.txt')).equals(good)).toBe(true);
  }, 60_000);

  it('an over-long path under an alternate directory fails naming that path and why; the rest is restored', async () => {
    const deep = path.join(tmp.path, 'deep');
    // ~4,000 bytes of path: backs up fine, but under a longer target it passes PATH_MAX (4,096).
    let dir = deep;
    while (dir.length < 3900) dir = path.join(dir, 'd'.repeat(200));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'leaf.txt'), 'leaf');
    fs.writeFileSync(path.join(deep, 'short.txt'), 'short');
    expect((await engine.backup(conn, { paths: [deep], tags: ['deep'] })).ok).toBe(true);
    const target = path.join(tmp.path, 'o'.repeat(150));
    const r = await runRestore(engine, conn, { snapshot_id: 'latest', target, include: [deep], exclude: [], verify: false }, {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toMatch(/^\d+ file\(s\) could not be restored: /);
    expect(r.message).toContain(dir.slice(0, 60));
    expect(r.message).toMatch(/file name too long/);
    expect(fs.readFileSync(path.join(target, deep, 'short.txt'), 'utf8')).toBe('short');
  }, 60_000);
});
