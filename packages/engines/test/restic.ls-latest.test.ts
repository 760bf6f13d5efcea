import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir, type TempDir } from '@restic-manager/testkit';
import { ResticEngine, type Connection, type LsEntry, type Snapshot } from '@restic-manager/engines';

/*
 * `ls latest --host` with `onSnapshot` (issue 16, restore drills): one restic run picks the
 * latest snapshot of a host and lists it; the snapshot comes before the first entry.
 */
const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping restic ls latest: ${restic.reason}`);

describe.skipIf(!restic.ok)('restic ls latest of a host', () => {
  const engine = new ResticEngine();
  let tmp: TempDir;
  let conn: Connection;
  let data: string;
  const backup = (host: string, time: string) => {
    const r = spawnSync('restic', ['-r', conn.repository, '--no-cache', 'backup', '--host', host, '--time', time, data], { env: { ...process.env, RESTIC_PASSWORD: 'ls-pass' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  };
  const list = async (req: { snapshot: string; host?: string }) => {
    const seen: { snap: Snapshot | null; entriesBefore: number } = { snap: null, entriesBefore: -1 };
    const entries: LsEntry[] = [];
    const l = engine.ls(conn, { ...req, onSnapshot: (s) => Object.assign(seen, { snap: s, entriesBefore: entries.length }) });
    for await (const e of l.entries) entries.push(e);
    return { ...seen, entries, result: await l.result };
  };
  beforeAll(async () => {
    tmp = await tempDir('rm-ls-latest-');
    conn = { repository: path.join(tmp.path, 'repo'), password: 'ls-pass', noCache: true };
    expect((await engine.init(conn)).ok).toBe(true);
    data = path.join(tmp.path, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'a.txt'), 'a\n');
    backup('alpha', '2026-01-01 10:00:00');
    fs.writeFileSync(path.join(data, 'b.txt'), 'b\n');
    backup('alpha', '2026-01-02 10:00:00');
    fs.writeFileSync(path.join(data, 'c.txt'), 'c\n');
    backup('beta', '2026-01-03 10:00:00');
  });
  afterAll(() => tmp.cleanup());

  it("picks the host's latest snapshot, reports it before any entry, and lists its files", async () => {
    const r = await list({ snapshot: 'latest', host: 'alpha' });
    expect(r.result.ok).toBe(true);
    expect(r.snap).toMatchObject({ hostname: 'alpha', paths: [data] });
    expect(r.snap!.time.startsWith('2026-01-02')).toBe(true);
    expect(r.snap!.id).toMatch(/^[0-9a-f]{64}$/);
    expect(r.entriesBefore).toBe(0);
    expect(r.entries.filter((e) => e.type === 'file').map((e) => e.name).sort()).toEqual(['a.txt', 'b.txt']);
  });

  it('a host without snapshots: no snapshot, no entries, and ok', async () => {
    const r = await list({ snapshot: 'latest', host: 'gamma' });
    expect(r.result.ok).toBe(true);
    expect(r.snap).toBeNull();
    expect(r.entries).toEqual([]);
  });
});
