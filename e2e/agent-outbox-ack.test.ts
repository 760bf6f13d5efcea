/**
 * The outbox against the real server (in-process, restarted on the same port and data dir):
 * reports produced while the server is down survive an agent restart, survive a server that
 * receives them and dies before storing them, and leave the outbox only on the server's `ack`.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startTestServer } from './test-server.js';
import type { RunningServer } from '@restic-manager/server';
import { Agent, createLogger, enroll, jobForSchedule, statePaths } from '@restic-manager/agent';
import type { Agent as AgentT } from '@restic-manager/agent';
import { until } from '../packages/agent/test/helpers/fixture.js';
import { scriptEngine } from '../packages/agent/test/helpers/script-engine.js';

const ADMIN = 'outbox-ack-admin-password-1';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Json = Record<string, unknown>;

async function boot(dataDir: string, listen: string): Promise<RunningServer> {
  const log = new PassThrough();
  log.resume();
  return startTestServer({ listen, dataDir, cookieSecure: false, adminPassword: ADMIN, logLevel: 'warn' }, { logStream: log, mountWeb: null });
}

async function login(url: string): Promise<(method: string, p: string, body?: unknown) => Promise<{ status: number; body: Json }>> {
  const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN }) });
  const cookie = `rm_session=${/rm_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1] ?? ''}`;
  const csrf = ((await r.json()) as { csrf_token: string }).csrf_token;
  return async (method, p, body) => {
    const res = await fetch(`${url}${p}`, { method, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Json };
  };
}

/** A server that accepts the agent socket, promises acks, reads reports, and dies before storing any. */
async function crashingServer(port: number): Promise<{ frames: Json[]; crashed: Promise<void> }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: '/api/agents/ws' });
  const frames: Json[] = [];
  let crash!: () => void;
  const crashed = new Promise<void>((r) => (crash = r));
  wss.on('connection', (ws) => {
    ws.on('message', (d: Buffer) => {
      const f = JSON.parse(d.toString('utf8')) as Json;
      frames.push(f);
      if (f.type === 'hello') ws.send(JSON.stringify({ type: 'hello', protocol_version: 1, server_version: 'crashing', host_id: 'x', outbox_acks: true }));
      if (f.type === 'job.finished') {
        // Received everything (and its transport answers pings meanwhile), stored nothing, then dies.
        setTimeout(() => {
          ws.terminate();
          wss.close();
          server.close(() => crash());
          server.closeAllConnections();
        }, 400);
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { frames, crashed };
}

const journal = (dir: string): Json[] => fs.readFileSync(statePaths(dir).outbox, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);

describe('outbox acknowledged by the real server', () => {
  it('keeps offline reports through an agent restart and a server crash, and trims them only on ack', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-outbox-ack-'));
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const dataDir = path.join(tmp, 'server');
    const stateDir = path.join(tmp, 'agent');
    let server: RunningServer | null = await boot(dataDir, '127.0.0.1:0');
    cleanups.push(async () => server?.close());
    const port = server.port;
    let api = await login(server.url);
    const host = await api('POST', '/api/hosts', { name: 'h1', repository: { url: '/srv/outbox-ack-repo', password: 'outbox-ack-repo-password' } });
    expect(host.status).toBe(201);
    await enroll({ serverUrl: server.url, token: String(host.body.token), stateDir });
    const sched = await api('POST', `/api/hosts/${String(host.body.host_id)}/schedules`, { kind: 'backup', cron_expr: '0 0 1 1 *', paths: ['/nonexistent/rm-test-source'] });
    expect(sched.status, JSON.stringify(sched.body)).toBe(201);

    const logs: string[] = [];
    const engine = scriptEngine({ script: 'i=1; while [ $i -le 40 ]; do echo "line-$i"; i=$((i+1)); done' });
    const start = (): Promise<AgentT> => Agent.start({ stateDir, engine: async () => engine, log: createLogger({ level: 'debug', write: (l) => logs.push(l) }), heartbeatMs: 200, backoff: { initialMs: 50, maxMs: 300 } });
    let agent: AgentT | null = await start();
    cleanups.push(async () => agent?.stop());
    await until(() => agent!.connection.isReady() && agent!.hasCredentials() && agent!.scheduler.appliedVersion() !== null, 10_000, 'agent ready with credentials and schedule');

    // 1. Server down: a scheduled backup runs and its reports pile up in the outbox.
    await server.close();
    server = null;
    await until(() => !agent!.connection.isReady(), 5000, 'disconnect');
    const job = jobForSchedule({ id: String(sched.body.id), kind: 'backup', cron_expr: '0 0 1 1 *', enabled: true, paths: ['/nonexistent/rm-test-source'], excludes: [], tags: [], retention_policy: null, options: {}, pre_hook: null, post_hook: null, run_as: null });
    agent.runner.submit(job);
    await until(() => journal(stateDir).some((f) => f.type === 'job.finished' && f.job_id === job.jobId), 10_000, 'job finished offline');
    await until(() => agent!.runner.activeJobIds().length === 0, 5000, 'runner idle');

    // 2. Agent restart: nothing is lost, and every entry keeps its outbox_seq.
    await agent.stop();
    const queued = journal(stateDir);
    const mine = queued.filter((f) => f.job_id === job.jobId);
    expect(mine.map((f) => f.type)).toEqual(expect.arrayContaining(['job.started', 'log.stream', 'job.finished']));
    expect(mine.filter((f) => f.type === 'log.stream').length).toBeGreaterThanOrEqual(40);
    const seqs = queued.map((f) => f.outbox_seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    // 3. A server that receives the replay and crashes before storing it: no ack, nothing trimmed.
    const crashing = await crashingServer(port);
    agent = await start();
    await crashing.crashed;
    expect(crashing.frames.filter((f) => f.job_id === job.jobId && f.type !== 'job.progress').length).toBe(mine.filter((f) => f.type !== 'job.progress').length);
    await until(() => !agent!.connection.isReady(), 5000, 'disconnect from the crashed server');
    expect(journal(stateDir).map((f) => f.outbox_seq)).toEqual(seqs);

    // 4. The real server returns: the replay is applied, acknowledged, and only then trimmed.
    server = await boot(dataDir, `127.0.0.1:${port}`);
    api = await login(server.url);
    await until(() => agent!.connection.isReady(), 10_000, 'reconnect');
    await until(() => journal(stateDir).length === 0, 10_000, 'outbox trimmed after the ack');
    const stored = await api('GET', `/api/jobs/${job.jobId}`);
    expect(stored.body.status, JSON.stringify(stored.body)).toBe('succeeded');
    const logLines = await api('GET', `/api/jobs/${job.jobId}/logs?limit=1000`);
    const items = logLines.body.items as { seq: number; payload: string }[];
    expect(items.filter((l) => /^line-\d+$/.test(l.payload)).map((l) => l.payload)).toEqual(Array.from({ length: 40 }, (_, i) => `line-${i + 1}`));
    expect(items.map((l) => l.seq)).toEqual([...items.map((l) => l.seq)].sort((a, b) => a - b));
    expect(logs.join('')).toContain('replaying queued reports');
  });
});
