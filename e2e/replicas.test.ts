import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@restic-manager/server';
import type { RunningServer } from '@restic-manager/server';
import { findPostgres, requireTool, tempDir } from '@restic-manager/testkit';
import { startPostgres } from '@restic-manager/testkit';
import type { DbServer, TempDir } from '@restic-manager/testkit';
import { ADMIN_PASSWORD, Api, eventually, runJobVia, waitJobVia } from './agent-harness.js';
import type { Json } from './agent-harness.js';
import { replicaHost, stopReplicaStack } from './replica-agent.js';

/*
 * Two server replicas on one PostgreSQL (issue 17, docs/scale-out.md): the agent is connected to
 * replica A only; everything below is asked of replica B, which reaches the agent over the
 * PostgreSQL bus (LISTEN/NOTIFY): a run-now backup, its live frames on a job stream opened on B,
 * a cancel, a snapshot listing (a request answered through A), and a download streamed from A
 * (the download cases in full: replicas-download.test.ts).
 */

const pgFound = findPostgres();
const missing = [...(pgFound.ok ? [] : [pgFound.reason]), ...(requireTool('restic').ok ? [] : ['restic is not installed'])];
if (missing.length) console.warn(`skipping the replicas e2e: ${missing.join('; ')}`);

function streamOn(server: RunningServer, api: Api, jobId: string): { frames: Json[]; opened: Promise<void>; close(): void } {
  const frames: Json[] = [];
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/jobs/${jobId}/stream`, { headers: { cookie: `rm_session=${api.cookie}`, origin: server.url } });
  ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString('utf8'))));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { frames, opened, close: () => ws.close() };
}

describe.skipIf(missing.length > 0)('two replicas on one PostgreSQL: B reaches an agent connected to A', () => {
  let t: TempDir;
  let db: DbServer;
  let a: RunningServer;
  let b: RunningServer;
  let apiA: Api;
  let apiB: Api;
  let agent: ChildProcess | null = null;
  let hostId: string;
  const src = (): string => path.join(t.path, 'src');

  beforeAll(async () => {
    t = await tempDir('rm-replicas-');
    db = await startPostgres('replicas-pg-secret-5b21');
    db.sql('CREATE DATABASE rm_replicas');
    const url = `postgres://${db.user}:${encodeURIComponent(db.password)}@127.0.0.1:${db.port}/rm_replicas`;
    // The replicas share the database and the secret key file; each has its own data directory.
    const key = path.join(t.path, 'secret.key');
    const log = new PassThrough();
    log.resume();
    const boot = (name: string): Promise<RunningServer> => startServer(
      { listen: '127.0.0.1:0', dataDir: path.join(t.path, name), databaseUrl: url, secretKeyFile: key, cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn' },
      { logStream: log, mountWeb: null, cluster: { heartbeatMs: 300 } },
    );
    a = await boot('a');
    b = await boot('b');
    apiA = new Api(a.url);
    apiB = new Api(b.url);
    await apiA.login();
    await apiB.login();
    fs.mkdirSync(src());
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src(), `f${i}.txt`), `file ${i}\n`.repeat(200));
    ({ hostId, agent } = await replicaHost({ api: apiA, serverUrl: a.url, seenFrom: apiB, dir: t.path, name: 'rep-h1', repoPassword: 'replicas-repo-password-61' }));
  }, 120_000);

  afterAll(() => stopReplicaStack({ agent, replicas: [b, a], db, dir: t }));

  it('run-now through B: the job runs on the agent held by A and its live frames reach a stream opened on B', async () => {
    expect((await waitJobVia(apiB, await runJobVia(apiB, hostId, 'init'))).status).toBe('succeeded');
    const id = await runJobVia(apiB, hostId, 'backup', { paths: [src()] });
    const s = streamOn(b, apiB, id);
    await s.opened;
    await eventually(() => Promise.resolve(s.frames.some((f) => f.type === 'job.finished')), 60_000, 'job.finished on B\'s stream');
    s.close();
    const fin = s.frames.find((f) => f.type === 'job.finished');
    expect(fin.status).toBe('succeeded');
    // the job's own lines came through B too (restic's summary), besides the final state
    expect(s.frames.some((f) => f.type === 'job.line' || f.type === 'job.progress')).toBe(true);
    expect((await apiA.req('GET', `/api/jobs/${id}`)).body.status).toBe('succeeded');
  }, 120_000);

  it('a snapshot listing asked of B is answered by the agent through A', async () => {
    const snaps = await eventually(async () => {
      const r = await apiB.req('GET', `/api/hosts/${hostId}/snapshots`);
      return r.status === 200 && (r.body.items as Json[]).length > 0 ? (r.body.items as Json[]) : null;
    }, 30_000, 'a snapshot listed');
    const ls = await apiB.req('GET', `/api/hosts/${hostId}/snapshots/${snaps[0].id as string}/ls?path=${encodeURIComponent(src())}`);
    expect(ls.status, JSON.stringify(ls.body)).toBe(200);
    expect((ls.body.entries as Json[]).map((e) => e.name)).toContain('f7.txt');
  }, 60_000);

  it('a download asked of B streams from A, which holds the agent', async () => {
    const snaps = (await apiB.req('GET', `/api/hosts/${hostId}/snapshots`)).body.items as Json[];
    const r = await apiB.req('GET', `/api/hosts/${hostId}/snapshots/${snaps[0].id as string}/download?path=${encodeURIComponent(path.join(src(), 'f1.txt'))}&format=raw`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('file 1\n'.repeat(200));
  });

  it('when the agent goes away from A, B sees it offline and a job made on B stays queued', async () => {
    agent!.kill('SIGKILL');
    await eventually(async () => (await apiB.req('GET', `/api/hosts/${hostId}`)).body.status === 'offline', 15_000, 'B shows the host offline');
    // B's link drops the agent with A's "down" presence: a download is now refused as offline, not as elsewhere
    const snaps = (await apiB.req('GET', `/api/hosts/${hostId}/snapshots`)).body.items as Json[];
    await eventually(async () => {
      const d = await apiB.req('GET', `/api/hosts/${hostId}/snapshots/${snaps[0].id as string}/download?path=${encodeURIComponent(path.join(src(), 'f1.txt'))}&format=raw`);
      return JSON.stringify(d.body).includes('is offline');
    }, 10_000, 'B refuses a download because the agent is offline');
    const id = await runJobVia(apiB, hostId, 'check');
    expect((await apiB.req('GET', `/api/jobs/${id}`)).body.status).toBe('queued');
  });
});
