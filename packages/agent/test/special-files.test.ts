import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { executeKind } from '../src/jobs/execute.js';
import { scanSpecialFiles, specialFilesWarning } from '../src/jobs/special-files.js';

/* Issue 22: restic 0.14 skips Unix sockets without a word; the backup job says which it skipped. */
const restic = requireTool('restic');

describe('sockets in a backup', () => {
  let tmp: TempDir;
  let src: string;
  const servers: net.Server[] = [];
  const socket = async (p: string): Promise<void> => {
    const s = net.createServer();
    servers.push(s);
    await new Promise<void>((r) => s.listen(p, r));
  };
  beforeAll(async () => {
    tmp = await tempDir('rm-sockets-');
    src = path.join(tmp.path, 'src');
    fs.mkdirSync(path.join(src, 'run', 'deep'), { recursive: true });
    fs.mkdirSync(path.join(src, 'cache'));
    fs.writeFileSync(path.join(src, 'data.txt'), 'data');
    spawnSync('mkfifo', [path.join(src, 'fifo')]);
    await socket(path.join(src, 'run', 'app.sock'));
    await socket(path.join(src, 'run', 'deep', 'db.sock'));
    await socket(path.join(src, 'cache', 'skip.sock'));
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await tmp?.cleanup();
  });

  it('the scan finds every socket (not FIFOs) and honours plain excludes', async () => {
    const all = await scanSpecialFiles([src]);
    expect(all.named.sort()).toEqual([path.join(src, 'cache', 'skip.sock'), path.join(src, 'run', 'app.sock'), path.join(src, 'run', 'deep', 'db.sock')]);
    expect(all).toMatchObject({ count: 3, partial: false });
    const some = await scanSpecialFiles([src], { excludes: [path.join(src, 'cache'), 'db.sock', '*.nothing'] });
    expect(some.named).toEqual([path.join(src, 'run', 'app.sock')]);
    expect(specialFilesWarning(some)).toBe(`1 socket(s) were not backed up (restic cannot store sockets): ${path.join(src, 'run', 'app.sock')}`);
    expect(specialFilesWarning(await scanSpecialFiles([path.join(src, 'data.txt')]))).toBeNull();
  });

  it('names with newlines and leading dashes come back whole; more than 20 are counted; an abort stops the walk', async () => {
    const odd = path.join(src, 'odd', '-name\nwith newline');
    fs.mkdirSync(odd, { recursive: true });
    await socket(path.join(odd, '-x.sock'));
    const many = path.join(src, 'many');
    fs.mkdirSync(many);
    for (let i = 0; i < 23; i++) await socket(path.join(many, `s${i}.sock`));
    const r = await scanSpecialFiles([path.join(src, 'odd'), many]);
    expect(r).toMatchObject({ count: 24, partial: false });
    expect(r.named).toHaveLength(20);
    expect(r.named).toContain(path.join(odd, '-x.sock'));
    expect(specialFilesWarning(r)).toMatch(/^24 socket\(s\) were not backed up .*, and 4 more$/s);
    // A start point that looks like an option is still a path (made absolute), never a find flag.
    const cwd = process.cwd();
    process.chdir(path.join(src, 'odd'));
    try {
      expect((await scanSpecialFiles(['-name\nwith newline'])).named).toEqual([path.join(odd, '-x.sock')]);
    } finally {
      process.chdir(cwd);
    }
    const stop = new AbortController();
    stop.abort();
    expect(await scanSpecialFiles([src], { signal: stop.signal })).toMatchObject({ count: 0, partial: true });
    fs.rmSync(path.join(src, 'odd'), { recursive: true });
    fs.rmSync(many, { recursive: true });
  });

  it('a path that does not exist is not an error', async () => {
    expect(await scanSpecialFiles([path.join(src, 'gone')])).toMatchObject({ count: 0, named: [] });
  });

  it.skipIf(!restic.ok)('a backup with sockets succeeds with warnings naming them (real restic)', async () => {
    const engine = createEngine('restic');
    const conn = { repository: path.join(tmp.path, 'repo'), password: 'sockets-test-pw' };
    expect((await engine.init(conn)).ok).toBe(true);
    const lines: string[] = [];
    const { outcome } = await executeKind(engine, conn, 'backup', { paths: [src], excludes: [path.join(src, 'cache')], tags: [] }, { onLine: (l) => lines.push(l.line) });
    const warning = `2 socket(s) were not backed up (restic cannot store sockets): `;
    expect(outcome).toMatchObject({ status: 'succeeded', errorKind: 'partial' });
    expect(outcome.error).toMatch(new RegExp(`^snapshot made with warnings: ${warning.replace(/[()]/g, '\\$&')}`));
    expect(outcome.error).toContain(path.join(src, 'run', 'app.sock'));
    expect(outcome.error).toContain(path.join(src, 'run', 'deep', 'db.sock'));
    expect((outcome.stats as { warnings: string[] }).warnings).toHaveLength(1);
    expect(lines.some((l) => l.startsWith(`restic-manager: warning: ${warning}`))).toBe(true);
    // Without sockets the same backup is a plain success.
    const clean = await executeKind(engine, conn, 'backup', { paths: [path.join(src, 'data.txt')], excludes: [], tags: [] }, {});
    expect(clean.outcome).toMatchObject({ status: 'succeeded', errorKind: null, error: null });
  }, 60_000);
});
