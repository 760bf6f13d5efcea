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
import { startServer } from '@restic-manager/server';
import type { RunningServer } from '@restic-manager/server';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { AGENT_MAIN, ADMIN_PASSWORD, Api, eventually, runAgentCli } from './agent-harness.js';
import type { Json } from './agent-harness.js';

export { ADMIN_PASSWORD, eventually };

export interface StackAgent {
  name: string;
  hostId: string;
  repoDir: string;
  repoPassword: string;
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

export async function startRestoreStack(names: string[]): Promise<RestoreStack> {
  if (!fs.existsSync(AGENT_MAIN)) throw new Error(`${AGENT_MAIN} is missing: run 'npx tsc -b' first`);
  const restic = requireTool('restic');
  if (!restic.ok) throw new Error(restic.reason);
  const tmp = await tempDir('rm-restore-stack-');
  const serverLog = new PassThrough();
  serverLog.resume();
  const server = await startServer({ listen: '127.0.0.1:0', dataDir: path.join(tmp.path, 'server'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn' }, { logStream: serverLog });
  const api = new Api(server.url);
  const procs: ChildProcess[] = [];
  const stack: RestoreStack = {
    tmp, server, api, agents: [],
    async runJob(hostId, kind, args = {}) {
      const r = await api.req('POST', `/api/hosts/${hostId}/jobs`, { kind, args });
      if (r.status !== 202) throw new Error(`run ${kind} failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.job.id as string;
    },
    waitJob: (id, timeoutMs = 60_000) =>
      eventually(async () => {
        const j = await api.req('GET', `/api/jobs/${id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(j.body?.status) ? j.body : null;
      }, timeoutMs, `job ${id} to finish`),
    async close() {
      for (const a of stack.agents) await a.stop();
      await server.close().catch(() => undefined);
      await tmp.cleanup();
    },
  };
  try {
    await api.login();
    for (const name of names) stack.agents.push(await addAgent(stack, name, restic.path, procs));
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

async function addAgent(stack: RestoreStack, name: string, resticPath: string, procs: ChildProcess[]): Promise<StackAgent> {
  const dir = path.join(stack.tmp.path, name);
  const bin = path.join(dir, 'bin');
  const cmdlineLog = path.join(dir, 'restic-cmdline.log');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'restic'), wrapper(resticPath, cmdlineLog), { mode: 0o755 });
  const repoDir = path.join(dir, 'repo');
  const repoPassword = `repo-password-of-${name}-${Math.random().toString(36).slice(2, 10)}`;
  const add = await stack.api.req('POST', '/api/hosts', { name, repository: { url: repoDir, password: repoPassword, append_only: false } });
  if (add.status !== 201) throw new Error(`add host failed: ${add.status} ${JSON.stringify(add.body)}`);
  const hostId = add.body.host_id as string;
  const stateDir = path.join(dir, 'state');
  const enroll = await runAgentCli(['enroll', '--server', stack.server.url, '--state-dir', stateDir], { RM_TOKEN: add.body.token as string });
  if (enroll.code !== 0) throw new Error(`enroll failed: ${enroll.err}`);
  let proc: ChildProcess | null = null;
  let logs = '';
  const agent: StackAgent = {
    name, hostId, repoDir, repoPassword, stateDir,
    cmdlines: () => (fs.existsSync(cmdlineLog) ? fs.readFileSync(cmdlineLog, 'utf8').split('\n').filter(Boolean) : []),
    logs: () => logs,
    async start() {
      proc = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', stateDir], {
        env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, RM_AGENT_HEARTBEAT_MS: '1000', RM_AGENT_KILL_GRACE_MS: '2000' },
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
