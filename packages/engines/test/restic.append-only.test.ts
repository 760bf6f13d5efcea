import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus, startRestServer, tempDir, type RestServer, type TempDir } from '@restic-manager/testkit';
import { ResticEngine, type Connection } from '@restic-manager/engines';
import { dripStream } from './contract/streams.js';

/** rclone serve restic --append-only --private-repos: hosts can add, never delete. */
describe('restic against an append-only REST server', () => {
  const engine = new ResticEngine();
  let rest: RestServer;
  let tmp: TempDir;
  let conn: Connection;
  const auth = `Basic ${Buffer.from('host1:host1-pass-x').toString('base64')}`;
  beforeAll(async () => {
    rest = await startRestServer({ users: { host1: 'host1-pass-x' }, appendOnly: true, privateRepos: true });
    tmp = await tempDir();
    await makeCorpus(path.join(tmp.path, 'src'), { files: 10, totalBytes: 50_000, seed: 3 });
    conn = { repository: rest.repoUrl('host1'), restUsername: 'host1', restPassword: 'host1-pass-x', password: 'ao-pass', cacheDir: path.join(tmp.path, 'cache') };
    expect((await engine.init(conn)).ok).toBe(true);
    for (let i = 0; i < 2; i++) expect((await engine.backup(conn, { paths: [path.join(tmp.path, 'src')] })).ok).toBe(true);
  });
  afterAll(async () => {
    await rest.stop();
    await tmp.cleanup();
  });

  it('forget and prune are refused with a clear error and nothing is lost', async () => {
    const forget = await engine.forget(conn, { policy: { keepLast: 1 } });
    expect(forget.ok).toBe(false);
    if (!forget.ok) {
      expect(forget.error.kind).toBe('failed');
      expect(forget.error.message).toMatch(/403|Forbidden|not allowed|append/i);
    }
    // Give prune something to delete: a backup cancelled after it uploaded a pack but before it
    // wrote an index leaves a pack no index refers to.
    // Only finished packs (64 hex digits): the REST server's in-progress upload files count for nothing.
    const packSizes = async (): Promise<Map<string, number>> => {
      const dir = path.join(rest.dataDir, 'host1', 'data');
      const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name));
      return new Map(await Promise.all(files.map(async (e) => [e.name, (await stat(path.join(e.parentPath, e.name))).size] as [string, number])));
    };
    const packs = async (): Promise<number> => (await packSizes()).size;
    const before = await packs();
    const known = new Set((await packSizes()).keys());
    const ac = new AbortController();
    const drip = dripStream(1024 * 1024, 5, true);
    const cancelled = engine.backup(conn, { paths: [], stdin: { stream: drip.stream, filename: 'x' } }, { signal: ac.signal });
    // A pack counts once it is new and its size held still over 300 ms: rclone may write an upload
    // under its final name and remove it when the upload is cut off by the cancel.
    const deadline = Date.now() + 120_000;
    let last = new Map<string, number>();
    for (;;) {
      const now = await packSizes();
      if ([...now].some(([name, size]) => !known.has(name) && size > 0 && last.get(name) === size)) break;
      if (Date.now() > deadline) throw new Error('no finished pack appeared within 120 s');
      last = now;
      await new Promise((r) => setTimeout(r, 300));
    }
    ac.abort();
    drip.end();
    const c = await cancelled;
    expect(c.ok ? 'completed' : c.error.kind).toBe('interrupted');
    expect(await packs()).toBeGreaterThan(before);
    const prune = await engine.prune(conn);
    expect(prune.ok).toBe(false);
    if (!prune.ok) expect(prune.error.message).toMatch(/append-only/);
    const snaps = await engine.snapshots(conn);
    expect(snaps.ok && snaps.value.length).toBe(2);
  });

  it('raw HTTP DELETE of snapshots/, keys/, index/ and config returns 403; the data stays intact', async () => {
    const list = async (kind: string): Promise<string[]> => {
      const r = await fetch(`${rest.url}/host1/${kind}/`, { headers: { authorization: auth, accept: 'application/vnd.x.restic.rest.v2' } });
      expect(r.status).toBe(200);
      return ((await r.json()) as { name: string }[]).map((e) => e.name);
    };
    const targets = [`snapshots/${(await list('snapshots'))[0]}`, `keys/${(await list('keys'))[0]}`, `index/${(await list('index'))[0]}`, 'config'];
    for (const t of targets) {
      const r = await fetch(`${rest.url}/host1/${t}`, { method: 'DELETE', headers: { authorization: auth } });
      expect(r.status, `DELETE ${t}`).toBe(403);
    }
    const check = await engine.check(conn, { readData: true });
    expect(check.ok && check.value.errors).toEqual([]);
    const snaps = await engine.snapshots(conn);
    expect(snaps.ok && snaps.value.length).toBe(2);
  });
});
