import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadable } from 'node:stream/web';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@restic-manager/server';
import type { RunningServer } from '@restic-manager/server';
import { RELAY_HEADER, REPLICA_DOWNLOAD_PATH, RelayTokens, SecretBox } from '@restic-manager/server/testing';
import { findPostgres, processes, requireTool, startPostgres, tempDir } from '@restic-manager/testkit';
import type { DbServer, TempDir } from '@restic-manager/testkit';
import { ADMIN_PASSWORD, Api, eventually, runJobVia, waitJobVia } from './agent-harness.js';
import type { Json } from './agent-harness.js';
import { replicaHost, stopReplicaStack } from './replica-agent.js';
import { tree } from './restore-helpers.js';

/*
 * Downloads through any replica (issue 17, docs/scale-out.md "Downloads through another
 * replica"): two server replicas on one real PostgreSQL, a real agent and restic 0.14 connected
 * to replica A; downloads asked of replica B stream from A over A's internal route with a
 * short-lived replica token. Byte for byte the same as through A; a browser leaving B stops
 * restic on the agent; the internal route refuses every token that is not exactly right.
 */

const execFileP = promisify(execFile);
const pgFound = findPostgres();
const missing = [...(pgFound.ok ? [] : [pgFound.reason]), ...['restic', 'tar'].filter((t) => !requireTool(t).ok).map((t) => `${t} is not installed`)];
if (missing.length) console.warn(`skipping the replicas download e2e: ${missing.join('; ')}`);
const MB = 1024 * 1024;
const TOKEN_SHAPE = /v1\.[0-9a-f-]{36}\.\d{13}\.[0-9a-f]{64}/;

describe.skipIf(missing.length > 0)('downloads through a replica that does not hold the agent', () => {
  let t: TempDir;
  let db: DbServer;
  let url: string;
  let a: RunningServer;
  let b: RunningServer;
  let apiA: Api;
  let apiB: Api;
  let agent: ChildProcess | null = null;
  let hostId: string;
  let snap: string;
  let keyHex: string;
  const logs: string[] = [];
  const sentTokens: string[] = [];
  const log = new PassThrough();
  log.on('data', (d: Buffer) => logs.push(d.toString('utf8')));
  const src = (): string => path.join(t.path, 'src');
  const boot = (name: string, listen = '127.0.0.1:0'): Promise<RunningServer> => startServer(
    { listen, dataDir: path.join(t.path, name), databaseUrl: url, secretKeyFile: path.join(t.path, 'secret.key'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'debug' },
    { logStream: log, mountWeb: null, cluster: { heartbeatMs: 300 } },
  );

  beforeAll(async () => {
    t = await tempDir('rm-replicas-dl-');
    db = await startPostgres('replicas-dl-pg-secret-8e44');
    db.sql('CREATE DATABASE rm_replicas_dl');
    url = `postgres://${db.user}:${encodeURIComponent(db.password)}@127.0.0.1:${db.port}/rm_replicas_dl`;
    a = await boot('a');
    b = await boot('b');
    keyHex = fs.readFileSync(path.join(t.path, 'secret.key'), 'utf8').trim();
    apiA = new Api(a.url);
    apiB = new Api(b.url);
    await apiA.login();
    await apiB.login();
    // 64 MB that does not compress, more than the credit window and the sockets between hold, and small files.
    fs.mkdirSync(path.join(src(), 'big'), { recursive: true });
    for (let i = 0; i < 8; i++) await fs.promises.writeFile(path.join(src(), 'big', `part-${i}.bin`), randomBytes(8 * MB));
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src(), `f${i}.txt`), `file ${i}\n`.repeat(200));
    ({ hostId, agent } = await replicaHost({ api: apiA, serverUrl: a.url, seenFrom: apiB, dir: t.path, name: 'rep-dl', repoPassword: 'replicas-dl-repo-password-3' }));
    expect((await waitJobVia(apiA, await runJobVia(apiA, hostId, 'init'))).status).toBe('succeeded');
    expect((await waitJobVia(apiA, await runJobVia(apiA, hostId, 'backup', { paths: [src()] }), 180_000)).status).toBe('succeeded');
    snap = await eventually(async () => ((await apiB.req('GET', `/api/hosts/${hostId}/snapshots`)).body.items as Json[] | undefined)?.[0]?.id as string | undefined, 30_000, 'snapshot listed on B');
    expect(a.services.downloads.openCount() + b.services.downloads.openCount()).toBe(0);
  }, 300_000);

  afterAll(() => stopReplicaStack({ agent, replicas: [b, a], db, dir: t }));

  const get = (server: RunningServer, api: Api, p: string, format: string, init: RequestInit = {}) =>
    fetch(`${server.url}/api/hosts/${hostId}/snapshots/${snap}/download?path=${encodeURIComponent(p)}&format=${format}`, { ...init, headers: { cookie: `rm_session=${api.cookie}` } });
  const save = async (r: Response, file: string): Promise<string> => {
    await pipeline(Readable.fromWeb(r.body! as WebReadable<Uint8Array>), fs.createWriteStream(file));
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  };
  /** restic dump processes of this test's snapshot, from the kernel's process table. */
  const dumps = (): string[] => processes().filter((p) => p.cmdline.includes('dump') && p.cmdline.includes(snap)).map((p) => `${p.pid}: ${p.cmdline}`);
  const audits = async (): Promise<Json[]> => (await apiA.req('GET', '/api/audit?action=snapshot.download&limit=100')).body.items as Json[];

  it('a folder as tar through B is byte for byte the one through A, and `tar -x` gives back the files', async () => {
    const viaA = await get(a, apiA, src(), 'tar');
    const viaB = await get(b, apiB, src(), 'tar');
    expect([viaA.status, viaB.status]).toEqual([200, 200]);
    expect(viaB.headers.get('content-type')).toBe('application/x-tar');
    expect(viaB.headers.get('content-disposition')).toContain('filename="src.tar"');
    const [hashA, hashB] = await Promise.all([save(viaA, path.join(t.path, 'a.tar')), save(viaB, path.join(t.path, 'b.tar'))]);
    expect(fs.statSync(path.join(t.path, 'b.tar')).size).toBeGreaterThan(64 * MB);
    expect(hashB).toBe(hashA);
    const out = path.join(t.path, 'untar-b');
    fs.mkdirSync(out);
    await execFileP('tar', ['-x', '-f', path.join(t.path, 'b.tar'), '-C', out]);
    expect(tree(path.join(out, src().slice(1)))).toEqual(tree(src()));
    // B audits what it served, with the bytes the browser got; nothing is open anywhere.
    const row = await eventually(async () => (await audits()).find((x) => x.payload.outcome === 'completed' && x.payload.bytes === fs.statSync(path.join(t.path, 'b.tar')).size), 10_000, 'audit row');
    expect(row.payload).toMatchObject({ host: 'rep-dl', snapshot_id: snap, path: src(), format: 'tar' });
    expect(a.services.downloads.openCount() + b.services.downloads.openCount()).toBe(0);
  }, 180_000);

  it('a file through B comes as itself with its length', async () => {
    const r = await get(b, apiB, path.join(src(), 'f7.txt'), 'raw');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String('file 7\n'.repeat(200).length));
    expect(await r.text()).toBe('file 7\n'.repeat(200));
  });

  it('a browser that leaves B mid-stream stops restic dump on the agent held by A', async () => {
    const ctl = new AbortController();
    const r = await get(b, apiB, path.join(src(), 'big'), 'tar', { signal: ctl.signal });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    await reader.read();
    // Nothing more is read: restic waits on the credit window, it has not finished.
    expect(dumps().length).toBeGreaterThan(0);
    ctl.abort();
    await eventually(async () => dumps().length === 0, 15_000, 'restic dump stopped');
    await eventually(async () => a.services.downloads.openCount() === 0 && b.services.downloads.openCount() === 0, 10_000, 'no download open on A or B');
    const row = await eventually(async () => (await audits()).find((x) => x.payload.outcome === 'cancelled'), 10_000, 'cancelled audit row');
    expect(row.payload.bytes).toBeLessThan(64 * MB);
  }, 60_000);

  it('over the size limit through B: 413 with the same message as through A', async () => {
    const limits = [a.services.downloads.maxBytes, b.services.downloads.maxBytes];
    a.services.downloads.maxBytes = MB;
    b.services.downloads.maxBytes = MB;
    try {
      const viaB = await apiB.req('GET', `/api/hosts/${hostId}/snapshots/${snap}/download?path=${encodeURIComponent(path.join(src(), 'big'))}&format=tar`);
      const viaA = await apiA.req('GET', `/api/hosts/${hostId}/snapshots/${snap}/download?path=${encodeURIComponent(path.join(src(), 'big'))}&format=tar`);
      expect(viaB.status).toBe(413);
      expect(viaB.body.error.message).toMatch(/^this download holds 64\.0 MiB \(67108864 bytes\), over this server's download limit of 1\.0 MiB \(RM_DOWNLOAD_MAX_BYTES\); restore it with the restore wizard instead$/);
      expect(viaB.body).toEqual(viaA.body);
    } finally {
      [a.services.downloads.maxBytes, b.services.downloads.maxBytes] = limits as [number, number];
    }
    await eventually(async () => dumps().length === 0, 10_000, 'no restic dump left running');
  }, 60_000);

  it("A's internal route refuses a missing, forged, expired, foreign or reused token with 401 and starts nothing", async () => {
    const q = (p: string) => `${REPLICA_DOWNLOAD_PATH}/${hostId}?${new URLSearchParams({ snapshot_id: snap, path: p, format: 'raw', max_bytes: '0' }).toString()}`;
    const file = q(path.join(src(), 'f3.txt'));
    const other = q(path.join(src(), 'f4.txt'));
    const box = new SecretBox(Buffer.from(keyHex, 'hex'));
    const tokens = (replica: string, now: () => number = Date.now) => new RelayTokens(box, replica, now);
    const mint = (target: string, replica = a.replicaId!, now?: () => number) => tokens('the-minting-side', now).mint({ method: 'GET', target, replica });
    const send = async (target: string, token?: string) => {
      if (token) sentTokens.push(token);
      const r = await fetch(`${a.url}${target}`, { headers: token ? { [RELAY_HEADER]: token } : {} });
      return { status: r.status, body: await r.text() };
    };
    const before = (await audits()).length;
    const refused: [string, string | undefined][] = [
      ['missing', undefined],
      ['forged', `v1.${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}.${Date.now() + 5000}.${'ab'.repeat(32)}`],
      ['another key', new RelayTokens(new SecretBox(randomBytes(32)), 'x').mint({ method: 'GET', target: file, replica: a.replicaId! })],
      ['expired', mint(file, a.replicaId!, () => Date.now() - 60_000)],
      ['for another path', mint(other)],
      ['for another replica', mint(file, b.replicaId!)],
    ];
    for (const [what, token] of refused) {
      const r = await send(file, token);
      expect([what, r.status, r.body]).toEqual([what, 401, JSON.stringify({ error: { code: 'unauthorized', message: 'missing, invalid, expired or reused replica token' } })]);
      expect(a.services.downloads.openCount()).toBe(0);
    }
    // A good token works once; the same token again is refused.
    const good = mint(file);
    const ok = await send(file, good);
    expect([ok.status, ok.body]).toEqual([200, 'file 3\n'.repeat(200)]);
    // (the body can be all here before A has handled the agent's download.end)
    await eventually(async () => a.services.downloads.openCount() === 0, 10_000, 'the good download to close on A');
    expect((await send(file, good)).status).toBe(401);
    expect(a.services.downloads.openCount()).toBe(0);
    expect(dumps()).toEqual([]);
    // The internal route audits nothing itself (the asking replica does).
    expect((await audits()).length).toBe(before);
  });

  it('a replica listening on every interface without RM_CLUSTER_URL is refused at start-up while others share the database', async () => {
    // Refused before it binds: no port is opened on other interfaces.
    await expect(boot('c', '0.0.0.0:0')).rejects.toThrow(/^invalid configuration: RM_CLUSTER_URL: 2 other server replica\(s\) share this database, and this one listens on every interface \(0\.0\.0\.0\)/);
  });

  it('no log line of either replica holds a replica token or the secret key', async () => {
    expect(sentTokens.length).toBeGreaterThan(0);
    const all = logs.join('');
    expect(all).toContain('refused an internal download request');
    expect(all).toContain('snapshot download for another replica ended');
    for (const token of sentTokens) expect(all).not.toContain(token.split('.').at(-1)!);
    expect(all).not.toMatch(TOKEN_SHAPE);
    expect(all).not.toContain(keyHex);
  });
});
