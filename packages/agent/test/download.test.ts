import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentMessage } from '@restic-manager/protocol';
import { DOWNLOAD_CHUNK_BYTES, decodeDownloadChunk } from '@restic-manager/protocol/wire';
import { createEngine } from '@restic-manager/engines';
import { processes, requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { createLogger } from '../src/log.js';
import { RequestHandler } from '../src/jobs/requests.js';
import { parseServerFrame } from '../src/wire.js';

/*
 * The agent's side of a download with real restic: what it sends for download.start, that it
 * sends no more chunks than its credit (restic waits meanwhile), the size check, and cancel.
 */

const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping agent download tests: ${restic.reason}`);
const PW = 'agent-download-password-1';

/** restic processes dumping `snap` right now (the kernel's process table). */
const dumping = (snap: string): number => processes().filter((p) => p.cmdline.includes('dump') && p.cmdline.includes(snap)).length;

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!restic.ok)('downloads on the agent (real restic)', () => {
  let tmp: TempDir;
  let src: string;
  let snap: string;
  let big: Buffer;
  const frames: AgentMessage[] = [];
  const chunks: Buffer[] = [];
  let h: RequestHandler;

  beforeAll(async () => {
    tmp = await tempDir('rm-agent-dl-');
    src = path.join(tmp.path, 'src');
    fs.mkdirSync(path.join(src, 'dir'), { recursive: true });
    big = randomBytes(8 * DOWNLOAD_CHUNK_BYTES + 777);
    fs.writeFileSync(path.join(src, 'dir', 'big.bin'), big);
    fs.writeFileSync(path.join(src, 'dir', 'small.txt'), 'small\n');
    const engine = createEngine('restic');
    const conn = { repository: path.join(tmp.path, 'repo'), password: PW };
    expect((await engine.init(conn)).ok).toBe(true);
    const b = await engine.backup(conn, { paths: [src] });
    if (!b.ok) throw new Error(b.error.message);
    snap = b.value.snapshotId;
    h = new RequestHandler({
      engine: async () => engine, jobFilesDir: path.join(tmp.path, 'job-files'), secrets: () => ({ repository: conn.repository, password: PW }),
      send: (f) => frames.push(f), sendBinary: (f) => (chunks.push(f), true), log: createLogger({ write: () => undefined }),
    });
  }, 60_000);
  afterAll(async () => tmp?.cleanup());

  const end = (id: string) => frames.find((f) => f.type === 'download.end' && f.request_id === id) as Extract<AgentMessage, { type: 'download.end' }> | undefined;
  const payloadOf = (id: string) => chunks.map((c) => decodeDownloadChunk(c)).filter((c) => c.ok && c.requestId === id) as { requestId: string; seq: number; payload: Buffer }[];

  it('sends no more chunks than its credit while restic waits, then the exact bytes in order', async () => {
    h.download({ type: 'download.start', request_id: 'bp', snapshot_id: snap, path: path.join(src, 'dir', 'big.bin'), format: 'raw', max_bytes: 0, window: 1 });
    await until(() => payloadOf('bp').length === 1);
    expect(frames.find((f) => f.type === 'download.ready')).toEqual({ type: 'download.ready', request_id: 'bp', kind: 'file', size: big.length, entries: 1 });
    // Without credit nothing more leaves, and restic is still there, held by the full pipe.
    await until(() => dumping(snap) > 0);
    expect(payloadOf('bp').length).toBe(1);
    expect(end('bp')).toBeUndefined();
    for (let i = 0; !end('bp'); i++) {
      if (i > 2000) throw new Error('no download.end');
      h.download({ type: 'download.credit', request_id: 'bp', chunks: 1 });
      await new Promise((r) => setTimeout(r, 5));
    }
    const got = payloadOf('bp');
    expect(got.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(got.every((c) => c.payload.length <= DOWNLOAD_CHUNK_BYTES)).toBe(true);
    expect(Buffer.concat(got.map((c) => c.payload)).equals(big)).toBe(true);
    expect(end('bp')).toMatchObject({ bytes: big.length, chunks: 9, error: null, error_kind: null });
  }, 30_000);

  it('refuses over max_bytes before a byte leaves, and stops restic', async () => {
    h.download({ type: 'download.start', request_id: 'big', snapshot_id: snap, path: path.join(src, 'dir'), format: 'tar', max_bytes: 1000, window: 16 });
    await until(() => end('big') !== undefined);
    expect(end('big')).toMatchObject({ bytes: 0, chunks: 0, error_kind: 'too_large', size: big.length + 6 });
    expect(payloadOf('big')).toEqual([]);
    await until(() => dumping(snap) === 0);
  });

  it('names what is wrong: a missing path, a folder asked as raw, an unknown snapshot', async () => {
    const ask = async (id: string, p: string, format: 'raw' | 'tar', snapshot = snap) => {
      h.download({ type: 'download.start', request_id: id, snapshot_id: snapshot, path: p, format, max_bytes: 0, window: 4 });
      await until(() => end(id) !== undefined);
      return end(id)!;
    };
    expect(await ask('nf', path.join(src, 'nope'), 'tar')).toMatchObject({ error_kind: 'not_found', error: `${path.join(src, 'nope')} does not exist in snapshot ${snap.slice(0, 8)}` });
    expect(await ask('raw', path.join(src, 'dir'), 'raw')).toMatchObject({ error_kind: 'not_a_file' });
    expect(await ask('us', '/', 'tar', 'abcdef0123456789')).toMatchObject({ error_kind: 'unknown_snapshot' });
  });

  it('a cancel stops restic and ends the download as cancelled', async () => {
    h.download({ type: 'download.start', request_id: 'cx', snapshot_id: snap, path: path.join(src, 'dir'), format: 'zip', max_bytes: 0, window: 1 });
    await until(() => payloadOf('cx').length === 1);
    h.download({ type: 'download.cancel', request_id: 'cx' });
    await until(() => end('cx') !== undefined);
    expect(end('cx')).toMatchObject({ error_kind: 'cancelled', chunks: 1 });
    await until(() => dumping(snap) === 0);
  });

  it('the light validator refuses download frames it could not act on safely', () => {
    const bad = (o: object) => parseServerFrame(JSON.stringify({ type: 'download.start', request_id: 'ok-id', snapshot_id: 'abcdef01', path: '/x', format: 'tar', max_bytes: 0, window: 4, ...o }));
    expect(bad({}).ok).toBe(true);
    expect(bad({ request_id: 'has space' })).toEqual({ ok: false, message: 'request_id: expected 1 to 64 of A-Z a-z 0-9 _ -' });
    expect(bad({ window: 0 })).toEqual({ ok: false, message: 'window: expected 1..64' });
    expect(bad({ format: 'rar' })).toEqual({ ok: false, message: 'format: expected raw, tar or zip' });
    expect(bad({ path: 'relative' })).toEqual({ ok: false, message: 'path: expected an absolute path' });
    expect(parseServerFrame(JSON.stringify({ type: 'download.credit', request_id: 'x', chunks: 65 }))).toEqual({ ok: false, message: 'chunks: expected 1..64' });
  });
});
