import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { executeKind, resolveCheckArgs } from '../src/jobs/execute.js';
import { nextCheckPart } from '../src/state/check-rotation.js';

/* Issue 22: by default a check reads part n of 10 of the pack data, n advancing per repository. */
const restic = requireTool('restic');

describe('check rotation', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await tempDir('rm-check-rotation-');
  });
  afterAll(async () => tmp?.cleanup());

  it('cycles 1..t per repository, starts again when t changes, survives a damaged file, names no repository', () => {
    const file = path.join(tmp.path, 'check-rotation.json');
    expect(Array.from({ length: 7 }, () => nextCheckPart(file, 'rest:https://a/', 3))).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(nextCheckPart(file, '/srv/other', 3)).toBe(1);
    expect(nextCheckPart(file, 'rest:https://a/', 5)).toBe(1);
    expect(nextCheckPart(file, 'rest:https://a/', 5)).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).not.toContain('rest:');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.writeFileSync(file, '{"__proto__": {"next": 9}}');
    expect(nextCheckPart(file, 'rest:https://a/', 5)).toBe(1);
  });

  it('resolves a check\'s arguments: default rotation over 10, a given subset stays, 0 = structure only', () => {
    const next = (parts: number): number => (parts === 10 ? 4 : 2);
    expect(resolveCheckArgs({}, next)).toEqual({ read_data_subset: '4/10', read_data_rotation: 10 });
    expect(resolveCheckArgs({ read_data_rotation: 3 }, next)).toEqual({ read_data_subset: '2/3', read_data_rotation: 3 });
    expect(resolveCheckArgs({ read_data_subset: '5%' }, next)).toEqual({ read_data_subset: '5%' });
    expect(resolveCheckArgs({ read_data_rotation: 0 }, next)).toEqual({ read_data_rotation: 0 });
  });

  it.skipIf(!restic.ok)('a corrupted pack that a structure-only check passes is found by the rotation within t runs (real restic)', async () => {
    const engine = createEngine('restic');
    const src = path.join(tmp.path, 'src');
    fs.mkdirSync(src);
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(src, `f${i}.bin`), randomBytes(2_000_000));
    const conn: Connection = { repository: path.join(tmp.path, 'repo'), password: 'check-rotation-pw', noCache: true };
    expect((await engine.init(conn)).ok).toBe(true);
    expect((await engine.backup(conn, { paths: [src] })).ok).toBe(true);
    const packs = spawnSync('find', [path.join(conn.repository, 'data'), '-type', 'f', '-size', '+1M'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(packs[0]).toBeTruthy();
    const buf = fs.readFileSync(packs[0]!);
    buf[100] = buf[100]! ^ 0xff;
    fs.writeFileSync(packs[0]!, buf);
    expect((await executeKind(engine, conn, 'check', { read_data_rotation: 0 }, {})).outcome.status).toBe('succeeded');
    const file = path.join(tmp.path, 'rotation-live.json');
    const parts: string[] = [];
    let failedAt: string | null = null;
    for (let run = 0; run < 3 && failedAt === null; run++) {
      const args = resolveCheckArgs({ read_data_rotation: 3 }, (t) => nextCheckPart(file, conn.repository, t));
      const lines: string[] = [];
      const { outcome } = await executeKind(engine, conn, 'check', args, { onLine: (l) => lines.push(l.line) });
      parts.push(String(args.read_data_subset));
      expect(lines).toContain(`restic-manager: reading pack data part ${String(args.read_data_subset)} (rotating: 3 checks read all of it)`);
      if (outcome.status === 'failed') failedAt = String(args.read_data_subset);
    }
    expect(parts).toEqual(['1/3', '2/3', '3/3'].slice(0, parts.length));
    expect(failedAt).not.toBeNull();
  }, 120_000);
});
