/*
 * What bench:agent and bench:copy share: the real server in this process, an admin session, one
 * host whose real agent (packages/agent/dist/main.js, the systemd unit's node flags) is enrolled
 * and connected, the 1 GiB corpus, and small measuring helpers.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { startServer } from '@restic-manager/server';
import type { RunningServer } from '@restic-manager/server';
import { makeCorpus } from '@restic-manager/testkit';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const AGENT = path.join(ROOT, 'packages/agent/dist/main.js');
const ADMIN = 'bench-admin-password-123';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The node flags the systemd unit runs the agent with, read from its ExecStart line
 * (deploy/systemd/restic-manager-agent.service), so the benchmark measures what users run;
 * BENCH_NODE_FLAGS (space-separated) replaces them, to compare candidates.
 */
export function unitNodeFlags(): string[] {
  if (process.env.BENCH_NODE_FLAGS !== undefined) return process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean);
  const unit = readFileSync(path.join(ROOT, 'deploy/systemd/restic-manager-agent.service'), 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.trim().split(/\s+/) ?? [];
  const node = exec.findIndex((w) => /(^|\/)node$/.test(w));
  if (node < 0) throw new Error('ExecStart of the agent unit does not run node');
  const flags: string[] = [];
  for (const w of exec.slice(node + 1)) {
    if (!w.startsWith('-')) break;
    flags.push(w);
  }
  return flags;
}

/** The process's child processes (restic) right now, over all its threads. */
function children(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
  } catch {
    return [];
  }
}

/**
 * Waits until the agent has had no child process for a second: after job.finished the agent
 * still lists the repository's locks (and after a backup its snapshots, stats and keys), which
 * would otherwise delay the next job or share the CPU with the next raw run.
 */
export async function agentIdle(pid: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (let quiet = 0; quiet < 10; ) {
    if (Date.now() > deadline) throw new Error('the agent still runs restic after 300 s');
    await sleep(100);
    quiet = children(pid).length ? 0 : quiet + 1;
  }
}

/** CPU seconds (user + system) the process itself has used; its children (restic) not included. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

/** Runs a command to its end with stdout ignored; its stderr comes back for error messages. */
export function runCommand(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, err }));
  });
}

/** The corpus, generated once into .bench-data/agent-corpus-<MB>m (testkit makeCorpus). */
export async function agentCorpus(mb: number): Promise<string> {
  const dir = path.join(ROOT, '.bench-data', `agent-corpus-${mb}m`);
  if (!existsSync(path.join(dir, '.complete'))) {
    process.stderr.write(`generating a ${mb} MiB corpus in ${dir} (once)…\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await makeCorpus(path.join(dir, 'data'), { files: Math.max(50, mb * 2), totalBytes: mb * 1024 * 1024, seed: 'bench-agent' });
    writeFileSync(path.join(dir, '.complete'), new Date().toISOString());
  }
  return path.join(dir, 'data');
}

export type Api = <T>(method: string, p: string, body?: unknown) => Promise<T>;

export interface AgentStack {
  server: RunningServer;
  /** The admin session's cookie header (for the browser job stream). */
  cookie: string;
  api: Api;
  hostId: string;
  agentDir: string;
  /** Null once the agent could not be started (the server is still up: close() stops both). */
  agent: ChildProcess | null;
  close(): Promise<void>;
}

/**
 * Starts the server in `dir/server`, signs in as admin, adds a host whose primary repository is
 * `repository`, enrolls the real agent into `dir/agent` and starts it with `nodeFlags`, and waits
 * until the host is online. On failure everything started so far is stopped.
 */
export async function startAgentStack(dir: string, repository: { url: string; password: string }, nodeFlags: string[]): Promise<AgentStack> {
  if (!existsSync(AGENT)) throw new Error(`${AGENT} missing: run 'npx tsc -b'`);
  const serverLog = new PassThrough();
  serverLog.resume();
  const server = await startServer({ listen: '127.0.0.1:0', dataDir: path.join(dir, 'server'), cookieSecure: false, adminPassword: ADMIN, logLevel: 'warn' }, { logStream: serverLog, mountWeb: null });
  const agentDir = path.join(dir, 'agent');
  const stack: AgentStack = {
    server, cookie: '', api: () => Promise.reject(new Error('not signed in')), hostId: '', agentDir, agent: null,
    async close() {
      const agent = stack.agent;
      if (agent && agent.exitCode === null && agent.signalCode === null) {
        const exited = new Promise((r) => agent.once('exit', r));
        agent.kill('SIGTERM');
        await exited;
      }
      await server.close();
    },
  };
  try {
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN }) });
    const cookie = `rm_session=${/rm_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? ''}`;
    const csrf = ((await login.json()) as { csrf_token: string }).csrf_token;
    const api: Api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
      const r = await fetch(`${server.url}${p}`, { method, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      if (r.status >= 300) throw new Error(`${method} ${p}: HTTP ${r.status} ${await r.text()}`);
      return (await r.json()) as T;
    };
    Object.assign(stack, { cookie, api });
    const host = await api<{ host_id: string; token: string }>('POST', '/api/hosts', { name: 'bench', repository });
    stack.hostId = host.host_id;
    const enroll = await new Promise<number | null>((resolve) => {
      spawn(process.execPath, [AGENT, 'enroll', '--server', server.url, '--state-dir', agentDir], { env: { ...process.env, RM_TOKEN: host.token }, stdio: 'ignore' }).on('close', resolve);
    });
    if (enroll !== 0) throw new Error('enroll failed');
    stack.agent = spawn(process.execPath, [...nodeFlags, AGENT, 'run', '--state-dir', agentDir], { stdio: 'ignore' });
    for (let i = 0; (await api<{ status: string }>('GET', `/api/hosts/${host.host_id}`)).status !== 'online'; i++) {
      if (i > 200) throw new Error('agent did not connect');
      await sleep(100);
    }
    return stack;
  } catch (err) {
    await stack.close();
    throw err;
  }
}
