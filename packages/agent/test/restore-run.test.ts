import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine, RestoreRequest } from '@restic-manager/engines';
import { literalPattern, mergeMove, runRestore } from '../src/jobs/restore-run.js';
import { tempDirs } from './helpers/temp-dirs.js';

const { tmp } = tempDirs('rm-restore-run-');

/** An engine whose restore writes `<target><path>` for every include (content = the path). */
function writingEngine(calls: RestoreRequest[], restoreNamesFailedFiles = true): Engine {
  return {
    restoreNamesFailedFiles,
    restore: async (_c: unknown, req: RestoreRequest) => {
      calls.push(req);
      for (const inc of req.include ?? []) {
        const p = path.join(req.target, inc.replace(/\\(.)/g, '$1'), 'file.txt');
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, inc);
      }
      return { ok: true, value: { filesRestored: 1, bytesRestored: 10, durationSeconds: 0.1 } };
    },
  } as unknown as Engine;
}

describe('remapped restores (restic 0.14 has no snapshot:subfolder)', () => {
  it('restores a remapped subtree via a staging directory next to `to`, then removes the staging directory', async () => {
    const root = tmp();
    const calls: RestoreRequest[] = [];
    const to = path.join(root, 'home', 'alice-new');
    const r = await runRestore(writingEngine(calls), { repository: '/r' }, {
      snapshot_id: 'abcd1234', target: path.join(root, 'alt'), include: ['/etc/app', '/home/alice/docs'], exclude: [], verify: false,
      remap: [{ from: '/home/alice', to }],
    }, {});
    expect(r.ok).toBe(true);
    expect(calls.map((c) => [c.include, c.target === path.join(root, 'alt')])).toEqual([[['/etc/app'], true], [['/home/alice/docs'], false]]);
    expect(path.dirname(calls[1]!.target)).toBe(path.dirname(to));
    expect(fs.readFileSync(path.join(to, 'docs', 'file.txt'), 'utf8')).toBe('/home/alice/docs');
    expect(fs.readFileSync(path.join(root, 'alt', 'etc', 'app', 'file.txt'), 'utf8')).toBe('/etc/app');
    expect(fs.readdirSync(path.join(root, 'home'))).toEqual(['alice-new']);
  });

  it('merges into an existing destination, replacing files the snapshot has and keeping the others', async () => {
    const root = tmp();
    const src = path.join(root, 'stage', 'a');
    const dst = path.join(root, 'dst');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'sub', 'same.txt'), 'new');
    fs.chmodSync(path.join(src, 'sub'), 0o700);
    fs.mkdirSync(path.join(dst, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dst, 'sub', 'same.txt'), 'old');
    fs.writeFileSync(path.join(dst, 'sub', 'mine.txt'), 'kept');
    await mergeMove(src, dst);
    expect(fs.readFileSync(path.join(dst, 'sub', 'same.txt'), 'utf8')).toBe('new');
    expect(fs.readFileSync(path.join(dst, 'sub', 'mine.txt'), 'utf8')).toBe('kept');
    expect(fs.statSync(path.join(dst, 'sub')).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(src)).toBe(false);
  });

  it('an engine that cannot name the files of a failed restore (rustic) restores into a staging directory inside the target, moved into place after a success', async () => {
    const root = tmp();
    const calls: RestoreRequest[] = [];
    const target = path.join(root, 'alt');
    const r = await runRestore(writingEngine(calls, false), { repository: '/r' }, { snapshot_id: 'abcd1234', target, include: ['/etc/app'], exclude: [], verify: false }, {});
    expect(r.ok).toBe(true);
    expect(calls.map((c) => path.relative(target, c.target))).toEqual([expect.stringMatching(/^\.rm[0-9a-f]{8}0$/)]);
    expect(fs.readFileSync(path.join(target, 'etc/app/file.txt'), 'utf8')).toBe('/etc/app');
    expect(fs.readdirSync(target)).toEqual(['etc']);
  });

  it('fails clearly, and cleans up, when a remapped path is not in the snapshot', async () => {
    const root = tmp();
    const engine = { restore: async () => ({ ok: true, value: { filesRestored: 0, bytesRestored: 0, durationSeconds: 0 } }) } as unknown as Engine;
    const r = await runRestore(engine, { repository: '/r' }, { snapshot_id: 'abcd1234', target: '/', include: [], exclude: [], verify: false, remap: [{ from: '/nope', to: path.join(root, 'x') }] }, {});
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/nothing was restored under \/nope/) });
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it.each(['/srv/../etc', '/srv/restore/..', 'relative/dir', '/srv/./x'])('refuses the restore target %s before restic runs (defence in depth)', async (target) => {
    const calls: RestoreRequest[] = [];
    const r = await runRestore(writingEngine(calls), { repository: '/r' }, { snapshot_id: 'abcd1234', target, include: ['/etc'], exclude: [], verify: false }, {});
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/^invalid restore arguments: target: /) });
    expect(calls).toEqual([]);
  });

  it('escapes glob characters so a selected path matches only itself', () => {
    expect(literalPattern('/etc/we[ir]d*?.conf')).toBe('/etc/we\\[ir]d\\*\\?.conf');
  });
});
