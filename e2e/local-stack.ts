/**
 * A lean full stack for run-now e2e tests: the real server (web UI mounted), one real agent
 * process (packages/agent/dist) and real restic on a local-directory repository — no REST
 * server, so it starts in about a second. `restic` on the agent's PATH is a wrapper that appends
 * each invocation's argv to `argvLog` and execs the real binary, so tests can see exactly what
 * the agent asked restic to do.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { RunningServer } from '@restic-manager/server';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { AGENT_MAIN, ADMIN_PASSWORD, Api, eventually, runAgentCli, runJobVia, waitJobVia } from './agent-harness.js';
import type { Json } from './agent-harness.js';
import { startTestServer } from './test-server.js';

export { ADMIN_PASSWORD, eventually };
export const LOCAL_REPO_PASSWORD = 'local-stack-repo-password-41d2';

export interface LocalStack {
  tmp: TempDir;
  server: RunningServer;
  api: Api;
  hostId: string;
  repoDir: string;
  /** One line per restic invocation by the agent: its argv joined by spaces. */
  argv(): string[];
  agentLogs(): string;
  /** The agent's process id and state directory. */
  agentPid(): number | undefined;
  agentStateDir: string;
  runJob(kind: string, args?: Record<string, unknown>): Promise<string>;
  waitJob(id: string, timeoutMs?: number): Promise<Json>;
  close(): Promise<void>;
}

export const localStackTools = ['restic'].map((t) => [t, requireTool(t)] as const).filter(([, r]) => !r.ok).map(([t]) => t);

/** `agentEnv`: extra environment of the agent process. */
export async function startLocalStack(opts: { agentEnv?: Record<string, string> } = {}): Promise<LocalStack> {
  if (!fs.existsSync(AGENT_MAIN)) throw new Error(`${AGENT_MAIN} is missing: run 'npx tsc -b' first`);
  const restic = requireTool('restic');
  if (!restic.ok) throw new Error(restic.reason);
  const tmp = await tempDir('rm-local-stack-');
  const bin = path.join(tmp.path, 'bin');
  const argvLog = path.join(tmp.path, 'restic-argv.log');
  const repoDir = path.join(tmp.path, 'repo');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'restic'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${restic.path}' "$@"\n`, { mode: 0o755 });
  const serverLog = new PassThrough();
  serverLog.resume();
  const server = await startTestServer({ listen: '127.0.0.1:0', dataDir: path.join(tmp.path, 'server'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn' }, { logStream: serverLog });
  const api = new Api(server.url);
  let agent: ChildProcess | null = null;
  let logs = '';
  const stack: LocalStack = {
    tmp, server, api, hostId: '', repoDir,
    argv: () => (fs.existsSync(argvLog) ? fs.readFileSync(argvLog, 'utf8').split('\n').filter(Boolean) : []),
    agentLogs: () => logs,
    agentPid: () => agent?.pid,
    agentStateDir: path.join(tmp.path, 'agent'),
    runJob: (kind, args = {}) => runJobVia(api, stack.hostId, kind, args),
    waitJob: (id, timeoutMs = 60_000) => waitJobVia(api, id, timeoutMs),
    async close() {
      if (agent && agent.exitCode === null && agent.signalCode === null) {
        const a = agent;
        await new Promise<void>((r) => {
          a.once('exit', () => r());
          a.kill('SIGKILL');
        });
      }
      await server.close().catch(() => undefined);
      await tmp.cleanup();
    },
  };
  try {
    await api.login();
    const add = await api.req('POST', '/api/hosts', { name: 'local1', repository: { url: repoDir, password: LOCAL_REPO_PASSWORD, append_only: false } });
    if (add.status !== 201) throw new Error(`add host failed: ${add.status} ${JSON.stringify(add.body)}`);
    stack.hostId = add.body.host_id as string;
    const agentDir = stack.agentStateDir;
    const enroll = await runAgentCli(['enroll', '--server', server.url, '--state-dir', agentDir], { RM_TOKEN: add.body.token as string });
    if (enroll.code !== 0) throw new Error(`enroll failed: ${enroll.err}`);
    agent = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', agentDir], {
      env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, RM_AGENT_HEARTBEAT_MS: '1000', RM_AGENT_KILL_GRACE_MS: '2000', ...opts.agentEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const add2 = (d: Buffer): void => void (logs = (logs + d.toString()).slice(-50_000));
    agent.stdout!.on('data', add2);
    agent.stderr!.on('data', add2);
    await eventually(async () => (await api.req('GET', `/api/hosts/${stack.hostId}`)).body.status === 'online', 20_000, 'host online');
    const init = await stack.waitJob(await stack.runJob('init'));
    if (init.status !== 'succeeded') throw new Error(`init failed: ${JSON.stringify(init)}`);
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}
