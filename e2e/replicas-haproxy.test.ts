import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { findPostgres, requireTool, startPostgres } from '@restic-manager/testkit';
import type { DbServer } from '@restic-manager/testkit';
import { AGENT_MAIN, Api, ROOT, eventually, runAgentCli, runCollect, runJobVia, waitJobVia } from './agent-harness.js';
import type { Json } from './agent-harness.js';
import { ADMIN, describeInChromium, reasons, useBrowser } from './browser-fixture.js';
import { ADMIN_PASSWORD } from './ui-harness.js';

/*
 * Three server replicas (the compiled CLI, each its own process and data directory, one shared
 * key file) on one PostgreSQL behind HAProxy (issue 17, docs/scale-out.md). The agent and this
 * test reach the replicas through the balancer (round robin, no sticky sessions) or directly:
 * - a job started through replica A for the agent held by replica B streams its live log into
 *   Chromium signed in on replica C;
 * - replica B is killed -9 in the middle of a backup: the agent comes back through the balancer
 *   to another replica, the job ends once, with one snapshot, and its log has no gap or duplicate.
 */

const CLI = path.join(ROOT, 'packages/cli/dist/main.js');
const REPO_PASSWORD = 'replicas-lb-repo-password-2c';
const pg = findPostgres();
const missing = reasons(requireTool('haproxy'), requireTool('restic'), ...(pg.ok ? [] : [{ ok: false as const, reason: pg.reason }]));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

interface Replica { name: string; port: number; url: string; proc: ChildProcess; log: () => string }

describeInChromium('three replicas behind HAProxy on one PostgreSQL', { timeout: 240_000, missing }, () => {
  let browserAt = '';
  const fx = useBrowser(() => browserAt);
  let db: DbServer;
  let dir: string;
  let lb: ChildProcess;
  let lbUrl = '';
  let agent: ChildProcess | null = null;
  let hostId = '';
  const replicas: Replica[] = [];
  const src = (): string => path.join(dir, 'src');

  const startReplica = async (name: string, env: Record<string, string>): Promise<Replica> => {
    const port = await freePort();
    let out = '';
    const proc = spawn(process.execPath, [CLI, 'server'], {
      env: { PATH: process.env.PATH ?? '', ...env, RM_LISTEN: `127.0.0.1:${port}`, RM_DATA_DIR: path.join(dir, name), RM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    return { name, port, url: `http://127.0.0.1:${port}`, proc, log: () => out };
  };
  const ready = (url: string): Promise<boolean> => fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
  /** Which replica holds the agent's WebSocket (each reports its own count on /metrics). */
  const holder = async (): Promise<Replica | null> => {
    for (const r of replicas) {
      if (r.proc.exitCode !== null || r.proc.signalCode !== null) continue;
      const text = await fetch(`${r.url}/metrics`).then((x) => x.text(), () => '');
      if (/^restic_manager_replica_agents_connected 1$/m.test(text)) return r;
    }
    return null;
  };

  beforeAll(async () => {
    dir = (await fx.tempDir('rm-replicas-lb-')).path;
    db = await startPostgres('replicas-lb-pg-secret-3e90', { maxConnections: 60 });
    fx.defer('stop PostgreSQL', () => db.stop());
    db.sql('CREATE DATABASE rm_lb');
    fs.writeFileSync(path.join(dir, 'secret.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const env = {
      RM_DATABASE_URL: `postgres://${db.user}:${encodeURIComponent(db.password)}@127.0.0.1:${db.port}/rm_lb`,
      RM_SECRET_KEY_FILE: path.join(dir, 'secret.key'), RM_COOKIE_SECURE: 'false', RM_ADMIN_PASSWORD: ADMIN_PASSWORD, RM_DATABASE_POOL: '5',
    };
    // All three start at once on the new database: one migrates and creates the admin, the others wait or find it.
    replicas.push(...(await Promise.all(['a', 'b', 'c'].map((n) => startReplica(n, env)))));
    fx.defer('stop the replicas', async () => {
      for (const r of replicas) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    });
    for (const r of replicas) await eventually(() => ready(r.url), 60_000, `replica ${r.name} ready (log: ${r.log().slice(-500)})`);

    const lbPort = await freePort();
    lbUrl = `http://127.0.0.1:${lbPort}`;
    const cfg = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(cfg, [
      'global', '  maxconn 1000',
      'defaults', '  mode http', '  timeout connect 2s', '  timeout client 60s', '  timeout server 60s', '  timeout tunnel 1h',
      'frontend fe', `  bind 127.0.0.1:${lbPort}`, '  default_backend replicas',
      'backend replicas', '  balance roundrobin', '  option redispatch', '  retries 3', '  option httpchk GET /readyz', '  http-check expect status 200',
      ...replicas.map((r) => `  server ${r.name} 127.0.0.1:${r.port} check inter 500 fall 2 rise 1`),
      '',
    ].join('\n'));
    lb = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
    fx.defer('stop HAProxy', () => lb.kill('SIGKILL'));
    await eventually(() => ready(lbUrl), 20_000, 'HAProxy answering');

    fs.mkdirSync(src());
    // incompressible data, sent at a limited rate so the backup runs long enough to kill a replica in it
    for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(src(), `blob-${i}.bin`), randomBytes(1 << 20));
    const api = new Api(replicas[0]!.url, ADMIN_PASSWORD);
    await api.login();
    const add = await api.req('POST', '/api/hosts', { name: 'lb-h1', repository: { url: path.join(dir, 'repo'), password: REPO_PASSWORD, append_only: false } });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    hostId = add.body.host_id as string;
    const agentDir = path.join(dir, 'agent');
    const enroll = await runAgentCli(['enroll', '--server', lbUrl, '--state-dir', agentDir], { RM_TOKEN: add.body.token as string });
    expect(enroll.code, enroll.err).toBe(0);
    agent = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', agentDir], { env: { ...process.env, RM_AGENT_HEARTBEAT_MS: '1000', RM_AGENT_BACKOFF_MAX_MS: '1000' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let agentLog = '';
    agent.stdout!.on('data', (d: Buffer) => (agentLog = (agentLog + d.toString()).slice(-20_000)));
    agent.stderr!.on('data', (d: Buffer) => (agentLog = (agentLog + d.toString()).slice(-20_000)));
    fx.defer('stop the agent', () => agent?.kill('SIGKILL'));
    await eventually(() => holder(), 30_000, 'the agent connected to a replica').catch(async (e: unknown) => {
      const m = await Promise.all(replicas.map((r) => fetch(`${r.url}/metrics`).then(async (x) => `${x.status} ${(await x.text()).split('\n').filter((l) => l.includes('agent')).join(' | ')}`, (er: unknown) => String(er))));
      throw new Error(`${(e as Error).message}; agent log: ${agentLog.slice(-1500)}; metrics: ${m.join(' || ').slice(0, 2000)}; replica logs: ${replicas.map((r) => r.log().slice(-800)).join(' ## ')}`);
    });
    const init = await runJobVia(api, hostId, 'init');
    expect((await waitJobVia(api, init)).status).toBe('succeeded');
  }, 180_000);

  it('a job started through replica A for the agent on replica B streams its live log to Chromium on replica C', async () => {
    const b = (await holder())!;
    const [a, c] = replicas.filter((r) => r !== b);
    browserAt = c!.url;
    const apiA = new Api(a!.url, ADMIN_PASSWORD);
    await apiA.login();
    // the browser is signed in before the job starts, so the page opens while the backup still runs (~3 s)
    const s = await fx.open({ as: ADMIN });
    expect(new URL(s.page.url()).port).toBe(String(c!.port));
    const id = await runJobVia(apiA, hostId, 'backup', { paths: [src()], limit_upload_kbps: 4096 });
    await s.page.goto(`/jobs/${id}`);
    const linesAtOpen = await s.page.locator('[data-live-log] [data-seq]').count();
    // lines arrive without a reload, then the stream says the job finished
    await expect.poll(() => s.page.locator('[data-live-log] [data-seq]').count(), { timeout: 60_000 }).toBeGreaterThan(linesAtOpen);
    await expect.poll(() => s.page.getAttribute('[data-live-log] .live-dot', 'data-state'), { timeout: 60_000 }).toBe('closed');
    expect((await waitJobVia(apiA, id)).status).toBe('succeeded');
    expect(await s.page.textContent('main')).toContain('succeeded');
  });

  it('the replica holding the agent is killed -9 mid-backup: the agent comes back through HAProxy, the job ends once with one snapshot and a whole log', async () => {
    const b = (await holder())!;
    const live = replicas.find((r) => r !== b)!;
    const api = new Api(live.url, ADMIN_PASSWORD);
    await api.login();
    // new data (the first backup has the rest), uploaded at 1 MiB/s: about 6 s of backup to kill a
    // replica in (the kill comes as soon as progress shows; the agent is back within its 1 s backoff)
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(src(), `more-${i}.bin`), randomBytes(1 << 20));
    const id = await runJobVia(api, hostId, 'backup', { paths: [src()], limit_upload_kbps: 1024 });
    // running, with restic's progress coming in (the upload under way)
    await eventually(async () => {
      const j = (await api.req('GET', `/api/jobs/${id}`)).body;
      return j.status === 'running' && j.progress !== null;
    }, 30_000, 'backup running with progress');
    expect((await api.req('GET', `/api/jobs/${id}`)).body.status).toBe('running');
    b.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => b.proc.once('exit', r));
    const back = await eventually(async () => {
      const h = await holder();
      return h && h !== b ? h : null;
    }, 30_000, 'the agent on another replica');
    expect(back).not.toBe(b);
    const job = await waitJobVia(api, id, 120_000);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    // it was still running when its replica died: it finished after the agent moved
    expect(Date.parse(job.finished_at as string)).toBeGreaterThan(killedAt);
    // the backup ran once: the repository holds one snapshot per backup job (this one and the first test's)
    const inRepo = await runCollect('restic', ['snapshots', '--json', '--no-lock'], { env: { RESTIC_REPOSITORY: path.join(dir, 'repo'), RESTIC_PASSWORD: REPO_PASSWORD } });
    expect(inRepo.code, inRepo.err).toBe(0);
    expect((JSON.parse(inRepo.out) as unknown[]).length).toBe(2);
    const sid = (job.stats as { snapshotId?: string } | null)?.snapshotId;
    expect(sid).toBeTruthy();
    await eventually(async () => ((await api.req('GET', `/api/hosts/${hostId}/snapshots`)).body.items as Json[]).filter((x) => String(x.id).startsWith(String(sid))).length === 1, 30_000, 'the new snapshot listed once');
    const logs = (await api.req('GET', `/api/jobs/${id}/logs?limit=5000`)).body.items as { seq: number }[];
    const seqs = logs.map((l) => l.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(seqs[seqs.length - 1]! - seqs[0]! + 1).toBe(seqs.length);
  });

  it('SIGTERM drains the replica holding the agent: it exits 0, the agent is back on another replica at once and stays online', async () => {
    const h = (await holder())!;
    const live = replicas.find((r) => r !== h && r.proc.exitCode === null && r.proc.signalCode === null)!;
    const api = new Api(live.url, ADMIN_PASSWORD);
    await api.login();
    const exited = new Promise<number | null>((r) => h.proc.once('exit', (code) => r(code)));
    h.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const back = await eventually(async () => {
      const now = await holder();
      return now && now !== h ? now : null;
    }, 10_000, 'the agent on another replica');
    expect(back).toBe(live);
    // the stopping replica marked its agent offline before closing the socket, never after the agent's new hello
    await eventually(async () => (await api.req('GET', `/api/hosts/${hostId}`)).body.status === 'online', 10_000, 'host online again');
    const id = await runJobVia(api, hostId, 'check');
    expect((await waitJobVia(api, id)).status).toBe('succeeded');
    expect((await api.req('GET', `/api/hosts/${hostId}`)).body.status).toBe('online');
  });
});
