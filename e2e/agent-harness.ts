/**
 * Full-stack harness for the agent e2e tests: a real server (in-process, restartable on the same
 * port and data dir), real `rclone serve restic` (append-only, private repos, htpasswd), and the
 * real agent CLI (packages/agent/dist/main.js) as a child process that tests can kill -9.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

/** Response bodies are checked field by field by the tests; typing every view here adds nothing. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;
import type { RunningServer } from '@restic-manager/server';
import { allCmdlines, processes, startRestServer, tempDir } from '@restic-manager/testkit';
import type { RestServer, TempDir } from '@restic-manager/testkit';
import { startProxy } from './robustness/proxy.js';
import { startTestServer } from './test-server.js';
import type { Proxy } from './robustness/proxy.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const AGENT_MAIN = path.join(ROOT, 'packages/agent/dist/main.js');
export const ADMIN_PASSWORD = 'agent-e2e-admin-password-1';
export const REPO_PASSWORD = 'e2e-repo-password-7c1d93b2';
export const REST_PASSWORD = 'e2e-rest-password-55aa21';

/** Browser-like API client (session cookie + CSRF header). */
export class Api {
  cookie = '';
  csrf = '';
  constructor(public url: string, private readonly password = ADMIN_PASSWORD) {}
  async login(): Promise<void> {
    const r = await fetch(`${this.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: this.password }) });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${await r.text()}`);
    this.cookie = /rm_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1] ?? '';
    this.csrf = ((await r.json()) as { csrf_token: string }).csrf_token;
  }
  async req<T = Json>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
    const h: Record<string, string> = { cookie: `rm_session=${this.cookie}` };
    if (method !== 'GET') h['x-csrf-token'] = this.csrf;
    if (body !== undefined) h['content-type'] = 'application/json';
    const r = await fetch(`${this.url}${p}`, { method, headers: h, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: r.status, body: parsed as T };
  }
}

export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POSTs a run-now job for a host; resolves with the job id (throws unless 202). */
export async function runJobVia(api: Api, hostId: string, kind: string, args: Record<string, unknown> = {}): Promise<string> {
  const r = await api.req('POST', `/api/hosts/${hostId}/jobs`, { kind, args });
  if (r.status !== 202) throw new Error(`run ${kind} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.job.id as string;
}

/** Polls a job until its status is one of `statuses` (default: any terminal status). */
export function waitJobVia(api: Api, id: string, timeoutMs = 60_000, statuses = ['succeeded', 'failed', 'cancelled']): Promise<Json> {
  return eventually(async () => {
    const j = await api.req('GET', `/api/jobs/${id}`);
    return statuses.includes(j.body?.status) ? j.body : null;
  }, timeoutMs, `job ${id} to reach ${statuses.join('/')}`);
}

/** Waits until a running job's stored progress shows bytes read, i.e. restic is mid-backup. */
export function waitMovingVia(api: Api, id: string, timeoutMs = 30_000): Promise<Json> {
  return eventually(async () => {
    const j = await api.req('GET', `/api/jobs/${id}`);
    return Number(j.body?.progress?.bytes_done) > 0 ? j.body : null;
  }, timeoutMs, `job ${id} to report bytes read`);
}

export interface AgentProc {
  proc: ChildProcess;
  /** Everything the agent wrote to stdout/stderr so far. */
  logs(): string;
  exited: Promise<number | null>;
}

export interface Stack {
  tmp: TempDir;
  server: RunningServer;
  api: Api;
  rest: RestServer;
  hostId: string;
  agentDir: string;
  agent: AgentProc | null;
  /** Between the agent and the server when `StackOptions.viaProxy` was set. */
  proxy: Proxy | null;
  /** All agent output across restarts. */
  agentLogs(): string;
  startAgent(): Promise<AgentProc>;
  /** Stops the agent with a signal and waits for it to exit. */
  stopAgent(signal?: NodeJS.Signals): Promise<void>;
  stopServer(): Promise<void>;
  startServerAgain(): Promise<void>;
  runJob(kind: string, args?: Record<string, unknown>): Promise<string>;
  waitJob(id: string, statuses?: string[], timeoutMs?: number): Promise<Json>;
  logs(id: string): Promise<{ seq: number; stream: string; payload: string }[]>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Initialise the repository with an `init` job (default true). */
  init?: boolean;
  agentEnv?: Record<string, string>;
  /** Connect the agent through a TCP proxy the test controls (`Stack.proxy`), to cut its connection. */
  viaProxy?: boolean;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  if (!fs.existsSync(AGENT_MAIN)) throw new Error(`${AGENT_MAIN} is missing: run 'npx tsc -b' first`);
  const tmp = await tempDir('rm-agent-e2e-');
  const dataDir = path.join(tmp.path, 'server');
  const agentDir = path.join(tmp.path, 'agent');
  const rest = await startRestServer({ users: { h1: REST_PASSWORD }, appendOnly: true, privateRepos: true });
  const serverLog = new PassThrough();
  serverLog.resume();
  const boot = (listen: string): Promise<RunningServer> =>
    startTestServer({ listen, dataDir, cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn' }, { logStream: serverLog, mountWeb: null });
  let server = await boot('127.0.0.1:0');
  const port = server.port;
  const api = new Api(server.url);
  await api.login();
  const add = await api.req('POST', '/api/hosts', { name: 'h1', repository: { url: rest.repoUrl('h1'), password: REPO_PASSWORD, rest_username: 'h1', rest_password: REST_PASSWORD } });
  if (add.status !== 201) throw new Error(`add host failed: ${add.status} ${JSON.stringify(add.body)}`);
  const hostId = add.body.host_id as string;
  // Async: the server runs in this process, so a blocking spawnSync would starve it.
  const proxy = opts.viaProxy ? await startProxy(() => port) : null;
  const enroll = await runAgentCli(['enroll', '--server', proxy ? `http://127.0.0.1:${proxy.port}` : server.url, '--state-dir', agentDir], { RM_TOKEN: add.body.token as string });
  if (enroll.code !== 0) throw new Error(`enroll failed: ${enroll.err}`);
  let allLogs = '';

  const stack: Stack = {
    tmp, server, api, rest, hostId, agentDir, agent: null, proxy,
    agentLogs: () => allLogs,
    async startAgent() {
      const proc = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', agentDir], {
        env: { ...process.env, RM_AGENT_HEARTBEAT_MS: '1000', RM_AGENT_BACKOFF_MAX_MS: '1000', RM_AGENT_KILL_GRACE_MS: '5000', RM_AGENT_LOG_LEVEL: 'debug', ...opts.agentEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let mine = '';
      const add = (d: Buffer): void => {
        mine += d.toString();
        allLogs += d.toString();
      };
      proc.stdout!.on('data', add);
      proc.stderr!.on('data', add);
      const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
      const a: AgentProc = { proc, logs: () => mine, exited };
      stack.agent = a;
      await eventually(async () => (await api.req('GET', `/api/hosts/${hostId}`)).body.status === 'online', 20_000, 'host online');
      return a;
    },
    async stopAgent(signal = 'SIGTERM') {
      const a = stack.agent;
      if (!a || a.proc.exitCode !== null || a.proc.signalCode !== null) return;
      a.proc.kill(signal);
      await a.exited;
      stack.agent = null;
    },
    async stopServer() {
      await stack.server.close();
    },
    async startServerAgain() {
      stack.server = server = await boot(`127.0.0.1:${port}`);
      await api.login();
    },
    runJob: (kind, args = {}) => runJobVia(api, hostId, kind, args),
    waitJob: (id, statuses = ['succeeded', 'failed', 'cancelled'], timeoutMs = 60_000) => waitJobVia(api, id, timeoutMs, statuses),
    async logs(id) {
      const out: { seq: number; stream: string; payload: string }[] = [];
      let after = -1;
      for (;;) {
        const r = await api.req('GET', `/api/jobs/${id}/logs?after_seq=${after}&limit=5000`);
        const items = r.body.items as { seq: number; stream: string; payload: string }[];
        out.push(...items);
        if (items.length === 0 || r.body.next_after_seq === after) break;
        after = r.body.next_after_seq;
      }
      return out;
    },
    async close() {
      await stack.stopAgent('SIGKILL').catch(() => undefined);
      await stack.server.close().catch(() => undefined);
      await proxy?.close();
      await rest.stop();
      await tmp.cleanup();
    },
  };
  try {
    await stack.startAgent();
    if (opts.init !== false) {
      const id = await stack.runJob('init');
      const j = await stack.waitJob(id);
      if (j.status !== 'succeeded') throw new Error(`init failed: ${JSON.stringify(j)}`);
    }
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

/** Subscribes like a browser to WS /api/jobs/:id/stream and collects frames until it closes. */
export function subscribe(stack: Stack, jobId: string): { frames: Json[]; closed: Promise<void>; opened: Promise<void> } {
  const frames: Json[] = [];
  const ws = new WebSocket(`${stack.server.url.replace(/^http/, 'ws')}/api/jobs/${jobId}/stream`, {
    headers: { cookie: `rm_session=${stack.api.cookie}`, origin: stack.server.url },
  });
  ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString('utf8'))));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  return { frames, closed, opened };
}

/** Runs a command without blocking the event loop (the server may be in this process): exit code and all output; `input` is its stdin. */
export function runCollect(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { ...(opts.cwd ? { cwd: opts.cwd } : {}), env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    c.stdin.end(opts.input ?? '');
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Runs the agent CLI (see runCollect). */
export function runAgentCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return runCollect(process.execPath, [AGENT_MAIN, ...args], { env });
}

/** Every process's argv from /proc, each as one string (arguments separated by spaces). */
export function cmdlines(): string[] {
  return processes().map((p) => p.cmdline);
}

export { allCmdlines };

/**
 * Samples every process's argv every `everyMs` until stopped: the names `classify` gives the
 * argvs it recognises (which tools were seen running), and every argv that contains `secret`.
 */
export function sampleArgv(secret: string, classify: (cmd: string) => string[], everyMs: number): { stop(): { seen: Set<string>; leaks: string[] } } {
  const seen = new Set<string>();
  const leaks: string[] = [];
  const timer = setInterval(() => {
    for (const cmd of cmdlines()) {
      for (const name of classify(cmd)) seen.add(name);
      if (cmd.includes(secret)) leaks.push(cmd);
    }
  }, everyMs);
  return { stop: () => (clearInterval(timer), { seen, leaks }) };
}

/** Every file under `dir` (recursively) whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return hits;
}
