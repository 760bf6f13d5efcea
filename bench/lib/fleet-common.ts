/*
 * What bench/fleet.bench.ts's single-server run and its replicas run (fleet-replicas.ts) share:
 * the driver's clock and HTTP client, a server started from the compiled CLI, the operator's
 * sign-in, host enrolment over the REST API, and the agent processes (fleet-agents.ts).
 */
import { fork, spawn } from 'node:child_process';
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AgentSpec, ChildIn, ChildOut } from './fleet-agents.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..', '..'); // bench/dist/lib -> the checkout
export const PASSWORD = 'bench-admin-password';

export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
export const log = (s: string): void => void process.stderr.write(`[fleet] ${s}\n`);

export async function pool<T>(items: T[], conc: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

/** User+system CPU milliseconds the process has used so far (clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) * 10;
}

export function rssOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/**
 * The driver's HTTP client: node:http with a keep-alive pool sized to the concurrency, so the
 * measured latency is the server's, not a client pool's (connections are opened once).
 */
const pool64 = new http.Agent({ keepAlive: true, maxSockets: 256 });
export function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: pool64 }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve(data));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export type ServerProc = ChildProcessByStdio<null, Readable, Readable>;

/**
 * `restic-manager server` from the compiled CLI with `env` (RM_*); resolves with its URL once it
 * listens. Its log lines go to stderr, so stdout carries only the benchmark's `name=value` lines.
 */
export async function startServerProcess(env: Record<string, string>): Promise<{ proc: ServerProc; url: string }> {
  const nodeArgs = (process.env.FLEET_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const proc = spawn(process.execPath, [...nodeArgs, path.join(root, 'packages/cli/dist/main.js'), 'server'], {
    env: { PATH: process.env.PATH ?? '', RM_ADMIN_PASSWORD: PASSWORD, RM_COOKIE_SECURE: 'false', RM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.pipe(process.stderr, { end: false });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1]) resolve(m[1]);
    });
    proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${err}`)));
  });
  return { proc, url };
}

/** Stops a server gracefully (SIGTERM) and waits for it; one already gone is fine. */
export async function stopServer(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

export interface Operator {
  cookie: string;
  /** POST `p` with JSON `body` to `base` (any replica: sessions live in the database). */
  post(base: string, p: string, body: unknown): Promise<string>;
}

/** Signs the admin in on `url`. */
export async function signIn(url: string): Promise<Operator> {
  const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  const cookie = `rm_session=${/rm_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? ''}`;
  const { csrf_token } = (await login.json()) as { csrf_token: string };
  return { cookie, post: (base, p, body) => request(`${base}${p}`, 'POST', { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf_token }, JSON.stringify(body)) };
}

/** Adds and enrolls `n` hosts, host i through urls[i % urls.length]. */
export async function enrollHosts(op: Operator, urls: string[], n: number): Promise<{ host_id: string; bearer: string }[]> {
  const agents: { host_id: string; bearer: string }[] = new Array(n);
  await pool([...Array(n).keys()], 16, async (i) => {
    const url = urls[i % urls.length]!;
    const add = JSON.parse(await op.post(url, '/api/hosts', { name: `bench-${i}`, repository: { url: `/srv/restic/bench-${i}`, password: 'bench-repo-password' } })) as { token: string };
    const enr = await fetch(`${url}/api/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: add.token, hostname: `bench-${i}` }) });
    const e = (await enr.json()) as { host_id: string; bearer_token: string };
    agents[i] = { host_id: e.host_id, bearer: e.bearer_token };
  });
  return agents;
}

/**
 * The simulated agents, spread over `procs` child processes (fleet-agents.ts). Each answers a
 * command.run with job.started at once; `received` maps a job id to when its command.run
 * arrived, `reconnected` a host id to when it was greeted again after its socket was lost.
 */
export class FleetAgents {
  readonly received = new Map<string, number>();
  readonly reconnected = new Map<string, number>();
  connected = 0;
  failed = 0;
  private readonly children: ChildProcess[] = [];

  /** Connects every agent (agent.replica indexes `urls`); resolves once all are connected or failed. */
  async start(urls: string[], agents: AgentSpec[], procs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      let done = 0;
      for (let p = 0; p < procs; p++) {
        const child = fork(path.join(here, 'fleet-agents.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        this.children.push(child);
        child.on('message', (m: ChildOut) => {
          if (m.type === 'connected') {
            this.connected += m.count;
            this.failed += m.failed;
            for (const [why, count] of Object.entries(m.errors)) log(`${count} first connection attempts failed: ${why}`);
            if (++done === procs) resolve();
          }
          if (m.type === 'dispatch') for (const [id, t] of m.items) this.received.set(id, t);
          if (m.type === 'reconnected') for (const [id, t] of m.items) this.reconnected.set(id, t);
        });
      }
      this.children.forEach((c, p) => c.send({ type: 'start', urls, agents: agents.filter((_, i) => i % procs === p), concurrency: Math.max(8, Math.ceil(256 / procs)) } satisfies ChildIn));
    });
  }

  stop(): void {
    for (const c of this.children.splice(0)) if (c.connected) c.send({ type: 'stop' } satisfies ChildIn);
  }
}
