import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { literalPattern, runRestore } from '../src/jobs/restore-run.js';

/*
 * Issue 22: a file name that is not valid UTF-8. restic's JSON (ls) carries it with one U+FFFD
 * per undecodable byte, which is what the snapshot browser shows and sends back when the file is
 * picked; the agent's include pattern turns each U+FFFD into the class `[\uFFFD]`, which matches
 * that one byte again and nothing else.
 */
const restic = requireTool('restic');

describe.skipIf(!restic.ok)('a name that is not valid UTF-8 (real restic)', () => {
  let tmp: TempDir;
  let conn: Connection;
  let src: string;
  const engine = createEngine('restic');
  const raw = Buffer.concat([Buffer.from('bad'), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]);
  beforeAll(async () => {
    tmp = await tempDir('rm-undecodable-');
    src = path.join(tmp.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(Buffer.concat([Buffer.from(`${src}/`), raw]), 'undecodable');
    fs.writeFileSync(path.join(src, 'bad??.txt'), 'a literal name that the wildcard would also match');
    conn = { repository: path.join(tmp.path, 'repo'), password: 'undecodable-test-pw' };
    expect((await engine.init(conn)).ok).toBe(true);
    expect((await engine.backup(conn, { paths: [src] })).ok).toBe(true);
  }, 60_000);
  afterAll(async () => tmp?.cleanup());

  it('is listed with U+FFFD marks, and picking that name restores exactly that file with its bytes', async () => {
    const page = await engine.lsPage(conn, { snapshot: 'latest', path: src, offset: 0, limit: 50 });
    expect(page.ok).toBe(true);
    if (!page.ok) return;
    const shown = page.value.entries.find((e) => e.name.includes('\uFFFD'));
    expect(shown?.name).toBe('bad\uFFFD\uFFFD.txt');
    expect(literalPattern(shown!.path)).toBe(`${src}/bad[\uFFFD][\uFFFD].txt`);
    const target = path.join(tmp.path, 'out');
    const r = await runRestore(engine, conn, { snapshot_id: 'latest', target, include: [shown!.path], exclude: [], verify: false }, {});
    expect(r.ok).toBe(true);
    const restored = fs.readdirSync(Buffer.from(path.join(target, src)), { encoding: 'buffer' });
    // Only the undecodable name: "bad??.txt" beside it is not taken.
    expect(restored).toEqual([raw]);
    expect(fs.readFileSync(Buffer.concat([Buffer.from(`${path.join(target, src)}/`), raw]), 'utf8')).toBe('undecodable');
  }, 60_000);
});
