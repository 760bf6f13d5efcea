/**
 * The stack the robustness driver runs against, all real and on 127.0.0.1: the server as a child
 * process (compiled CLI, so it can be killed -9 and started again on the same port and data
 * directory), one agent process (packages/agent/dist) connected through a proxy that can drop
 * the connection, and restic 0.14 on a local repository — on a small tmpfs when this process may
 * mount one (root), so a full disk can be injected.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { requireTool } from '@restic-manager/testkit';
import { AGENT_MAIN, Api, ROOT, eventually, runAgentCli } from '../agent-harness.js';
import { startProxy } from './proxy.js';
import type { Proxy } from './proxy.js';

export const SERVER_MAIN = path.join(ROOT, 'packages/cli/dist/main.js');
export const REPO_PASSWORD = 'robustness-repo-password-9f3e21c7';
/** The copy repository's password (another repository object: its own key). */
export const COPY_PASSWORD = 'robustness-copy-password-41d7b0e2';
/**
 * A fresh admin password for a run: the argv invariant looks at every process of the machine, and
 * the e2e suites' shared ADMIN_PASSWORD shows up in other sessions' argv (a packaging test's
 * `docker run -e RM_ADMIN_PASSWORD=…`), which is not this product's leak. A run in legs keeps
 * its one in the checkpoint directory (`runAdminPassword`): the server's database holds its hash.
 */
export const freshAdminPassword = (): string => `robustness-admin-${randomBytes(12).toString('hex')}`;

export interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
}

export interface RobustStack {
  base: string;
  api: Api;
  hostId: string;
  repoDir: string;
  /** The copy repository (a local directory on disk, not on the tmpfs), filled by run-now copies of `copyPolicyId`. */
  copyDir: string;
  /** A copy policy from the host's repository to `copyDir`, disabled (copies run only when the driver asks); null: a run from before copies. */
  copyPolicyId: string | null;
  /** Non-null: the repository is on a tmpfs of this many bytes (full-disk faults possible). */
  tmpfsBytes: number | null;
  tmpfsNote: string;
  proxy: Proxy;
  agent: Proc | null;
  server: Proc | null;
  /** Set once any secret of `opts.secrets` appeared in anything the agent or the server wrote (every byte is scanned). */
  secretInLogs(): boolean;
  /** One line per restic invocation by the agent (its argv). */
  resticArgv(): string;
  startAgent(): Promise<void>;
  startServer(): Promise<void>;
  /** kill -9 and wait for the exit. */
  killAgent(): Promise<void>;
  killServer(): Promise<void>;
  hostOnline(timeoutMs?: number): Promise<void>;
  /** Signs the driver's admin in again (after a pause longer than the server's session idle timeout). */
  signIn(): Promise<void>;
  close(): Promise<void>;
  /** Stops server, agent and proxy (kill -9), leaving every file and the repository's tmpfs for a later leg. */
  abandon(): Promise<void>;
}

function track(child: ChildProcess, sink: (scan: string) => void, file: string): Proc {
  let tail = '';
  const out = (d: Buffer): void => {
    // each chunk is scanned with the end of the previous one, so a secret split across two is seen too
    sink(tail + d.toString());
    tail = d.toString().slice(-64);
    fs.appendFileSync(file, d);
  };
  child.stdout?.on('data', out);
  child.stderr?.on('data', out);
  return { child, exited: new Promise((r) => child.once('exit', () => r())) };
}

async function kill9(p: Proc | null): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}

const NOT_ROOT = 'not root: mount -t tmpfs is not allowed, so the full-disk fault is skipped';

function tryTmpfs(dir: string, bytes: number): string | null {
  if (process.getuid?.() !== 0) return NOT_ROOT;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `mount -t tmpfs failed (${String(err).split('\n')[0]}), so the full-disk fault is skipped`;
  }
}

/** True when `dir` is a mount point (its tmpfs is still mounted). */
function mounted(dir: string): boolean {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
}

/**
 * `resume`: the stack of a run stopped after a checkpoint (checkpoint.ts) — the same directories,
 * repository (its tmpfs still mounted), host and proxy port (the agent's enrolled URL); the
 * server and agent start again, nothing is enrolled or initialised.
 */
export type RobustEngine = 'restic' | 'rustic';

export async function startRobustStack(base: string, opts: { tmpfsBytes: number; adminPassword: string; secrets: string[]; engine: RobustEngine; resume?: { hostId: string; proxyPort: number; tmpfs: boolean; copyPolicyId: string | null } }): Promise<RobustStack> {
  for (const f of [AGENT_MAIN, SERVER_MAIN]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run 'npx tsc -b' first`);
  const restic = requireTool('restic');
  if (!restic.ok) throw new Error(restic.reason);
  const bin = path.join(base, 'bin');
  const argvLog = path.join(base, 'restic-argv.log');
  const repoDir = path.join(base, 'repo');
  const dataDir = path.join(base, 'server');
  const agentDir = path.join(base, 'agent');
  for (const d of [bin, repoDir, dataDir]) fs.mkdirSync(d, { recursive: true });
  // `bin/<name>` logs each run's argv (one line, after `prefix`) and execs the real tool
  const logArgv = (name: string, real: string, prefix: string): void =>
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\nprintf '${prefix}%s\\n' "$*" >> '${argvLog}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  logArgv('restic', restic.path, '');
  if (opts.engine === 'rustic') {
    const rustic = requireTool('rustic');
    if (!rustic.ok) throw new Error(rustic.reason);
    // the agent's rustic runs are logged the same way: their argv must hold no secret either
    logArgv('rustic', rustic.path, 'rustic ');
  }
  if (opts.resume?.tmpfs && !mounted(repoDir)) throw new Error(`cannot go on from the checkpoint: the repository's tmpfs (${repoDir}) is no longer mounted (the machine restarted?), so the repository is gone`);
  // a leg stopped during a full-disk fault left the tmpfs shrunk: its size back first
  if (opts.resume?.tmpfs) execFileSync('mount', ['-o', `remount,size=${opts.tmpfsBytes}`, repoDir], { stdio: 'pipe' });
  const tmpfsProblem = opts.resume ? (opts.resume.tmpfs ? null : NOT_ROOT) : tryTmpfs(repoDir, opts.tmpfsBytes);
  const logLeaks = new Set<string>();
  const sink = (scan: string): void => {
    for (const secret of opts.secrets) if (scan.includes(secret)) logLeaks.add(secret);
  };
  let port = 0;
  const proxy = await startProxy(() => port, opts.resume?.proxyPort ?? 0);
  const api = new Api('', opts.adminPassword);

  const stack: RobustStack = {
    base, api, hostId: '', repoDir, copyDir: path.join(base, 'copy-repo'), copyPolicyId: opts.resume?.copyPolicyId ?? null, proxy, agent: null, server: null,
    tmpfsBytes: tmpfsProblem ? null : opts.tmpfsBytes,
    tmpfsNote: tmpfsProblem ?? `repository on a ${opts.tmpfsBytes >> 20} MiB tmpfs`,
    secretInLogs: () => logLeaks.size > 0,
    resticArgv: () => (fs.existsSync(argvLog) ? fs.readFileSync(argvLog, 'utf8') : ''),
    async startServer() {
      const child = spawn(process.execPath, [SERVER_MAIN, 'server'], {
        env: { PATH: process.env.PATH, RM_LISTEN: `127.0.0.1:${port}`, RM_DATA_DIR: dataDir, RM_COOKIE_SECURE: 'false', RM_ADMIN_PASSWORD: opts.adminPassword, RM_LOG_LEVEL: 'info',
          // a short session idle timeout shows that a paused run signs in again (--pause-file)
          ...(process.env.RM_SESSION_IDLE_MS ? { RM_SESSION_IDLE_MS: process.env.RM_SESSION_IDLE_MS } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let early = '';
      const url = new Promise<string>((resolve, reject) => {
        child.stderr!.on('data', (d: Buffer) => {
          early += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(early);
          if (m?.[1]) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`server exited ${String(code)}: ${early.slice(-2000)}`)));
      });
      stack.server = track(child, sink, path.join(base, 'server.log'));
      const u = await url;
      port = Number(new URL(u).port);
      api.url = u;
      await eventually(async () => (await api.login(), true), 20_000, 'admin login');
    },
    async startAgent() {
      const child = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', agentDir], {
        env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, RM_AGENT_HEARTBEAT_MS: '1000', RM_AGENT_BACKOFF_MAX_MS: '1000', RM_AGENT_KILL_GRACE_MS: '2000', RM_AGENT_LOG_LEVEL: 'debug' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      stack.agent = track(child, sink, path.join(base, 'agent.log'));
      await stack.hostOnline();
    },
    async signIn() {
      await eventually(async () => (await api.login(), true), 20_000, 'admin login');
    },
    async hostOnline(timeoutMs = 30_000) {
      await eventually(async () => (await api.req('GET', `/api/hosts/${stack.hostId}`)).body?.status === 'online', timeoutMs, 'host online');
    },
    killAgent: () => kill9(stack.agent),
    killServer: () => kill9(stack.server),
    async abandon() {
      await kill9(stack.agent);
      await kill9(stack.server);
      await proxy.close();
    },
    async close() {
      await stack.abandon();
      if (!tmpfsProblem) {
        try {
          execFileSync('umount', [repoDir], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', repoDir], { stdio: 'pipe' });
        }
      }
    },
  };
  if (opts.resume) {
    try {
      await stack.startServer();
      stack.hostId = opts.resume.hostId;
      await stack.startAgent();
    } catch (err) {
      await stack.abandon();
      throw err;
    }
    return stack;
  }
  try {
    await stack.startServer();
    // with rustic the host is added on a placeholder, then given the rustic repository as its only one
    const add = await api.req('POST', '/api/hosts', { name: 'robust1', repository: { url: opts.engine === 'rustic' ? path.join(base, 'placeholder-repo') : repoDir, password: REPO_PASSWORD, append_only: false } });
    if (add.status !== 201) throw new Error(`add host failed: ${add.status} ${JSON.stringify(add.body)}`);
    stack.hostId = add.body.host_id as string;
    const enroll = await runAgentCli(['enroll', '--server', `http://127.0.0.1:${proxy.port}`, '--state-dir', agentDir], { RM_TOKEN: add.body.token as string });
    if (enroll.code !== 0) throw new Error(`enroll failed: ${enroll.err}`);
    await stack.startAgent();
    if (opts.engine === 'rustic') await useRusticRepository(api, stack.hostId, repoDir);
    const init = await api.req('POST', `/api/hosts/${stack.hostId}/jobs`, { kind: 'init', args: {} });
    if (init.status !== 202) throw new Error(`init: ${init.status} ${JSON.stringify(init.body)}`);
    const done = await eventually(async () => {
      const j = await api.req('GET', `/api/jobs/${init.body.job.id as string}`);
      return ['succeeded', 'failed', 'cancelled'].includes(j.body?.status) ? j.body : null;
    }, 60_000, 'init to finish');
    if (done.status !== 'succeeded') throw new Error(`init failed: ${JSON.stringify(done)}`);
    // rustic answers copy with `unsupported` (docs/repositories.md): no copies in a rustic run
    if (opts.engine === 'restic') stack.copyPolicyId = await addCopyPolicy(api, stack.hostId, stack.copyDir);
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

/**
 * The copy repository as a user adds it (a repository object with its own password) and a copy
 * policy from the host's repository to it, disabled: the driver runs it now and then, so no copy
 * runs beside another step's job unasked. The copy job initialises the target itself.
 */
async function addCopyPolicy(api: Api, hostId: string, copyDir: string): Promise<string> {
  const host = await api.req('GET', `/api/hosts/${hostId}`);
  const source = host.body?.repo_id as string | undefined;
  if (!source) throw new Error(`the host has no repository object: ${JSON.stringify(host.body)}`);
  const repo = await api.req('POST', '/api/repositories', { name: 'robust-copy', url: copyDir, password: COPY_PASSWORD, append_only: false });
  if (repo.status !== 201) throw new Error(`add copy repository: ${repo.status} ${JSON.stringify(repo.body)}`);
  const policy = await api.req('POST', '/api/copy-policies', { source_repository_id: source, target_repository_id: repo.body.repository.id, host_id: hostId, mode: 'after_backup', enabled: false });
  if (policy.status !== 201) throw new Error(`add copy policy: ${policy.status} ${JSON.stringify(policy.body)}`);
  return policy.body.id as string;
}

/** Makes a rustic repository object at `repoDir` the host's primary and unlinks the placeholder it was added with. */
async function useRusticRepository(api: Api, hostId: string, repoDir: string): Promise<void> {
  const placeholder = (await api.req('GET', `/api/hosts/${hostId}`)).body?.repo_id as string | undefined;
  const repo = await api.req('POST', '/api/repositories', { name: 'robust-rustic', url: repoDir, password: REPO_PASSWORD, engine: 'rustic', append_only: false });
  if (repo.status !== 201) throw new Error(`add rustic repository: ${repo.status} ${JSON.stringify(repo.body)}`);
  const id = repo.body.repository.id as string;
  const link = await api.req('PUT', `/api/hosts/${hostId}/repositories/${id}`, { primary: true });
  if (link.status !== 200) throw new Error(`link rustic repository: ${link.status} ${JSON.stringify(link.body)}`);
  if (placeholder) {
    const unlink = await api.req('DELETE', `/api/hosts/${hostId}/repositories/${placeholder}`);
    if (unlink.status !== 204 && unlink.status !== 200) throw new Error(`unlink the placeholder: ${unlink.status} ${JSON.stringify(unlink.body)}`);
  }
}
