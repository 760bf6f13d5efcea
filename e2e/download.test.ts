import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadable } from 'node:stream/web';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processes, requireTool } from '@restic-manager/testkit';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { eventually, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { tree } from './restore-helpers.js';

/*
 * Download from a snapshot with the real parts: the server, a real agent process and restic 0.14.
 * A 200 MB folder comes through as tar and is checked byte for byte after `tar -x`; a file comes
 * as itself; a folder as zip; the size limit, odd paths and a browser that goes away.
 */

const execFileP = promisify(execFile);
const missing = [...restoreStackTools, ...['tar', 'unzip'].filter((t) => !requireTool(t).ok)];
if (missing.length) console.warn(`skipping download e2e: missing ${missing.join(', ')}`);
const MB = 1024 * 1024;

describe.skipIf(missing.length > 0)('download from a snapshot (server + agent + restic)', () => {
  let s: RestoreStack;
  let a: StackAgent;
  let src: string;
  let snap: string;

  beforeAll(async () => {
    s = await startRestoreStack(['dl']);
    a = s.agents[0]!;
    src = path.join(s.tmp.path, 'srv');
    for (const sub of ['big/one', 'big/two', 'small']) fs.mkdirSync(path.join(src, sub), { recursive: true });
    // 200 MB of incompressible files in two folders, plus small odd ones.
    for (let i = 0; i < 20; i++) await fs.promises.writeFile(path.join(src, i % 2 ? 'big/one' : 'big/two', `part-${i}.bin`), randomBytes(10 * MB));
    fs.writeFileSync(path.join(src, 'big', 'we ird "name" ü.txt'), 'odd name\n');
    fs.writeFileSync(path.join(src, 'small', 'hello.txt'), 'hello from the snapshot\n');
    fs.writeFileSync(path.join(src, 'small', 'empty'), '');
    const backup = await s.waitJob(await s.runJob(a.hostId, 'backup', { paths: [src] }), 180_000);
    expect(backup.status, JSON.stringify(backup)).toBe('succeeded');
    snap = await eventually(async () => (await s.api.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.items?.[0]?.id as string | undefined, 20_000, 'snapshot listed');
  }, 300_000);
  afterAll(async () => s?.close());

  const url = (p: string, format?: string) => `${s.server.url}/api/hosts/${a.hostId}/snapshots/${snap.slice(0, 8)}/download?path=${encodeURIComponent(p)}${format ? `&format=${format}` : ''}`;
  const get = (p: string, format?: string, init: RequestInit = {}) => fetch(url(p, format), { ...init, headers: { cookie: `rm_session=${s.api.cookie}` } });
  const save = async (r: Response, file: string) => pipeline(Readable.fromWeb(r.body! as WebReadable<Uint8Array>), fs.createWriteStream(file));
  /** restic dump processes of this test's snapshot, from the kernel's process table. */
  const dumps = () => processes().filter((p) => p.cmdline.includes('dump') && p.cmdline.includes(snap));

  it('a 200 MB folder as tar: `tar -x` gives back every file byte for byte', async () => {
    const r = await get(path.join(src, 'big'), 'tar');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-tar');
    expect(r.headers.get('content-disposition')).toContain('filename="big.tar"');
    const file = path.join(s.tmp.path, 'big.tar');
    await save(r, file);
    expect(fs.statSync(file).size).toBeGreaterThan(200 * MB);
    const out = path.join(s.tmp.path, 'untar');
    fs.mkdirSync(out);
    await execFileP('tar', ['-x', '-f', file, '-C', out]);
    expect(tree(path.join(out, src.slice(1), 'big'))).toEqual(tree(path.join(src, 'big')));
    const audit = await eventually(async () => (await s.api.req('GET', '/api/audit?action=snapshot.download')).body.items?.[0], 10_000, 'audit row');
    expect(audit.payload).toMatchObject({ host: 'dl', snapshot_id: snap, path: path.join(src, 'big'), format: 'tar', outcome: 'completed' });
    expect(audit.payload.bytes).toBe(fs.statSync(file).size);
    expect(JSON.stringify(audit)).not.toContain(a.repoPassword);
  }, 180_000);

  it('a file comes as itself, with its length and name', async () => {
    const r = await get(path.join(src, 'big', 'we ird "name" ü.txt'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe('9');
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="we ird _name_ _.txt"; filename*=UTF-8''we%20ird%20_name_%20%C3%BC.txt`);
    expect(await r.text()).toBe('odd name\n');
    const empty = await get(path.join(src, 'small', 'empty'), 'raw');
    expect([empty.status, empty.headers.get('content-length'), (await empty.arrayBuffer()).byteLength]).toEqual([200, '0', 0]);
  });

  it('a folder as zip', async () => {
    const r = await get(path.join(src, 'small'), 'zip');
    expect(r.headers.get('content-type')).toBe('application/zip');
    const file = path.join(s.tmp.path, 'small.zip');
    await save(r, file);
    const { stdout } = await execFileP('unzip', ['-p', file, path.join(src, 'small', 'hello.txt').slice(1)]);
    expect(stdout).toBe('hello from the snapshot\n');
  });

  it('refusals name the problem: over the limit 413, a missing path 404, a folder as raw 400, traversal 400', async () => {
    const limit = s.server.services.downloads.maxBytes;
    s.server.services.downloads.maxBytes = 100 * MB;
    try {
      const big = await s.api.req('GET', url(path.join(src, 'big'), 'tar').slice(s.server.url.length));
      expect(big.status).toBe(413);
      expect(big.body.error.message).toMatch(/^this download holds 200\.0 MiB \(209715209 bytes\), over this server's download limit of 100\.0 MiB \(RM_DOWNLOAD_MAX_BYTES\)/);
    } finally {
      s.server.services.downloads.maxBytes = limit;
    }
    const nf = await s.api.req('GET', url(path.join(src, 'nope')).slice(s.server.url.length));
    expect([nf.status, nf.body.error.message]).toEqual([404, `${path.join(src, 'nope')} does not exist in snapshot ${snap.slice(0, 8)}`]);
    const raw = await s.api.req('GET', url(path.join(src, 'small'), 'raw').slice(s.server.url.length));
    expect([raw.status, raw.body.error.message]).toEqual([400, `${path.join(src, 'small')} is a folder: download it as tar or zip`]);
    expect((await s.api.req('GET', url(`${src}/../../etc/passwd`).slice(s.server.url.length))).status).toBe(400);
    await eventually(async () => dumps().length === 0, 10_000, 'no restic dump left running');
  });

  it('a browser that goes away stops restic on the agent', async () => {
    const ctl = new AbortController();
    const r = await get(path.join(src, 'big'), 'tar', { signal: ctl.signal });
    const reader = r.body!.getReader();
    await reader.read();
    // The browser reads nothing more: restic is held by the credit window, not finished.
    expect(dumps().length).toBeGreaterThan(0);
    ctl.abort();
    await eventually(async () => dumps().length === 0, 15_000, 'restic dump stopped');
    const audit = await eventually(async () => (await s.api.req('GET', '/api/audit?action=snapshot.download')).body.items?.find((x: { payload: { outcome: string } }) => x.payload.outcome === 'cancelled'), 10_000, 'cancelled audit row');
    expect(audit.payload.bytes).toBeLessThan(200 * MB);
    expect(s.server.services.downloads.openCount()).toBe(0);
  }, 60_000);
});
