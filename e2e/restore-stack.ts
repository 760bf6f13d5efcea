/**
 * A full stack for restore e2e tests: the real server (web UI mounted), several real agent
 * processes (packages/agent/dist), each with its own local-directory restic repository and its
 * own state directory. Each agent's `restic` is a wrapper that appends the argv of every run and,
 * from a background loop, the kernel's `/proc/<pid>/cmdline` of the restic process it became,
 * so tests can check what really was on restic's command line.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { RunningServer, ServerConfigInput } from '@restic-manager/server';
import { requireTool, startRestServer, tempDir } from '@restic-manager/testkit';
import type { RestServer, TempDir } from '@restic-manager/testkit';
import { AGENT_MAIN, ADMIN_PASSWORD, Api, eventually, runAgentCli, runJobVia, waitJobVia } from './agent-harness.js';
import type { Json } from './agent-harness.js';
import { startTestServer } from './test-server.js';

export { ADMIN_PASSWORD, eventually };

export interface StackAgent {
  name: string;
  hostId: string;
  /** Local repository directory, or (REST stacks) the repository's directory inside the REST server's data dir. */
  repoDir: string;
  repoPassword: string;
  /** REST stacks: the append-only REST user's password, and the maintenance endpoint's. */
  restPassword?: string;
  maintPassword?: string;
  /** restic `-r` value that reaches the repository directly (credentials inside, for test assertions only). */
  directRepo: string;
  stateDir: string;
  /** `/proc/<pid>/cmdline` samples of this agent's restic processes (NULs as spaces). */
  cmdlines(): string[];
  logs(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface RestoreStack {
  tmp: TempDir;
  server: RunningServer;
  api: Api;
  agents: StackAgent[];
  /** REST stacks: the routine (append-only, private repos) and maintenance endpoints on one data dir. */
  rest?: { routine: RestServer; maint: RestServer };
  runJob(hostId: string, kind: string, args?: Record<string, unknown>): Promise<string>;
  waitJob(id: string, timeoutMs?: number): Promise<Json>;
  close(): Promise<void>;
}

export const restoreStackTools = ['restic'].map((t) => [t, requireTool(t)] as const).filter(([, r]) => !r.ok).map(([t]) => t);

function wrapper(real: string, cmdlineLog: string): string {
  // The loop runs in a child while this shell execs restic under the same pid.
  return `#!/bin/sh
pid=$$
( i=0; while [ $i -lt 40 ] && [ -r /proc/$pid/cmdline ]; do tr '\\0' ' ' < /proc/$pid/cmdline >> '${cmdlineLog}' 2>/dev/null; echo >> '${cmdlineLog}'; i=$((i+1)); sleep 0.05; done ) &
exec '${real}' "$@"
`;
}

/** Records (in `into`) every temporary key password the server asks a source agent to add: an in-process spy that only reads. */
export function recordTemporaryPasswords(s: RestoreStack, into: string[]): void {
  const requests = s.server.services.requests;
  const original = requests.request.bind(requests);
  requests.request = ((hostId: string, frame: { type: string; password?: string }, timeoutMs: number) => {
    if (frame.type === 'repo.key.add' && frame.password) into.push(frame.password);
    return original(hostId, frame as never, timeoutMs);
  }) as typeof requests.request;
}

export interface RestoreStackOptions {
  /**
   * Repositories behind `rclone serve restic --append-only --private-repos` (one REST user per
   * host) plus a non-append-only maintenance endpoint on the same data directory, whose
   * credential is set as each host's maintenance credential. Default: local directories.
   */
  rest?: boolean;
  /** Extra environment of each agent process, by agent name. */
  agentEnv?: (name: string) => Record<string, string>;
  /** Extra server settings (e.g. `slotLeaseSeconds`). */
  server?: Partial<ServerConfigInput>;
}

export async function startRestoreStack(names: string[], opts: RestoreStackOptions = {}): Promise<RestoreStack> {
  if (!fs.existsSync(AGENT_MAIN)) throw new Error(`${AGENT_MAIN} is missing: run 'npx tsc -b' first`);
  const restic = requireTool('restic');
  if (!restic.ok) throw new Error(restic.reason);
  const tmp = await tempDir('rm-restore-stack-');
  const serverLog = new PassThrough();
  serverLog.resume();
  const server = await startTestServer({ listen: '127.0.0.1:0', dataDir: path.join(tmp.path, 'server'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn', ...opts.server }, { logStream: serverLog });
  const api = new Api(server.url);
  const procs: ChildProcess[] = [];
  const stack: RestoreStack = {
    tmp, server, api, agents: [],
    runJob: (hostId, kind, args = {}) => runJobVia(api, hostId, kind, args),
    waitJob: (id, timeoutMs = 60_000) => waitJobVia(api, id, timeoutMs),
    async close() {
      for (const a of stack.agents) await a.stop();
      await server.close().catch(() => undefined);
      await stack.rest?.maint.stop().catch(() => undefined);
      await stack.rest?.routine.stop().catch(() => undefined);
      await tmp.cleanup();
    },
  };
  try {
    await api.login();
    if (opts.rest) {
      const pw = (n: string, kind: string): string => `${kind}-password-of-${n}-4b1f9c`;
      const routine = await startRestServer({ users: Object.fromEntries(names.map((n) => [n, pw(n, 'rest')])), appendOnly: true, privateRepos: true });
      const maint = await startRestServer({ users: Object.fromEntries(names.map((n) => [n, pw(n, 'maint')])), privateRepos: true, dataDir: routine.dataDir });
      stack.rest = { routine, maint };
    }
    for (const name of names) stack.agents.push(await addAgent(stack, name, restic.path, procs, opts.agentEnv?.(name) ?? {}));
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

async function addAgent(stack: RestoreStack, name: string, resticPath: string, procs: ChildProcess[], extraEnv: Record<string, string>): Promise<StackAgent> {
  const dir = path.join(stack.tmp.path, name);
  const bin = path.join(dir, 'bin');
  const cmdlineLog = path.join(dir, 'restic-cmdline.log');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'restic'), wrapper(resticPath, cmdlineLog), { mode: 0o755 });
  const repoPassword = `repo-password-of-${name}-${Math.random().toString(36).slice(2, 10)}`;
  const rest = stack.rest;
  const restPassword = `rest-password-of-${name}-4b1f9c`;
  const maintPassword = `maint-password-of-${name}-4b1f9c`;
  const repoDir = rest ? path.join(rest.routine.dataDir, name) : path.join(dir, 'repo');
  const repository = rest
    ? { url: rest.routine.repoUrl(name), password: repoPassword, rest_username: name, rest_password: restPassword, append_only: true }
    : { url: repoDir, password: repoPassword, append_only: false };
  const add = await stack.api.req('POST', '/api/hosts', { name, repository });
  if (add.status !== 201) throw new Error(`add host failed: ${add.status} ${JSON.stringify(add.body)}`);
  const hostId = add.body.host_id as string;
  const directRepo = rest ? rest.maint.repoUrl(name).replace('rest:http://', `rest:http://${name}:${maintPassword}@`) : repoDir;
  const stateDir = path.join(dir, 'state');
  const enroll = await runAgentCli(['enroll', '--server', stack.server.url, '--state-dir', stateDir], { RM_TOKEN: add.body.token as string });
  if (enroll.code !== 0) throw new Error(`enroll failed: ${enroll.err}`);
  // The repository row exists once the host enrolled.
  if (rest) {
    const m = await stack.api.req('PUT', `/api/hosts/${hostId}/maintenance-credential`, { url: rest.maint.repoUrl(name), rest_username: name, rest_password: maintPassword });
    if (m.status !== 200) throw new Error(`maintenance credential failed: ${m.status} ${JSON.stringify(m.body)}`);
  }
  let proc: ChildProcess | null = null;
  let logs = '';
  const agent: StackAgent = {
    name, hostId, repoDir, repoPassword, stateDir, directRepo,
    ...(rest ? { restPassword, maintPassword } : {}),
    cmdlines: () => (fs.existsSync(cmdlineLog) ? fs.readFileSync(cmdlineLog, 'utf8').split('\n').filter(Boolean) : []),
    logs: () => logs,
    async start() {
      proc = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', stateDir], {
        env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, RM_AGENT_HEARTBEAT_MS: '1000', RM_AGENT_KILL_GRACE_MS: '2000', ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(proc);
      const keep = (d: Buffer): void => void (logs = (logs + d.toString()).slice(-100_000));
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      await eventually(async () => (await stack.api.req('GET', `/api/hosts/${hostId}`)).body.status === 'online', 20_000, `${name} online`);
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((r) => {
        p.once('exit', () => r());
        p.kill('SIGKILL');
      });
      await eventually(async () => (await stack.api.req('GET', `/api/hosts/${hostId}`)).body.status === 'offline', 20_000, `${name} offline`);
    },
  };
  await agent.start();
  const init = await stack.waitJob(await stack.runJob(hostId, 'init'));
  if (init.status !== 'succeeded') throw new Error(`init of ${name} failed: ${JSON.stringify(init)}`);
  return agent;
}
