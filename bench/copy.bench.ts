/*
 * `npm run bench:copy` — what a copy job costs over a raw `restic copy` (issue 15).
 *
 *   copy_agent_seconds   median wall time of a `copy` job of the real agent process
 *                        (packages/agent/dist/main.js run, with the systemd unit's node flags):
 *                        from the `command.run` frame (kind copy, args.target_repository_id,
 *                        copy_target) sent on the agent's WebSocket to its `job.finished` frame.
 *                        The frames come from a minimal gateway in this file, not from the server:
 *                        the server's copy policies (which would send them) are not built yet.
 *                        Measured: the agent's frame parsing, job queue, argument and copy_target
 *                        validation, jobs/copy-run.ts, the engine's restic copy with progress (and
 *                        its parallel source snapshot count), log/progress frames, job.finished.
 *   copy_restic_seconds  median wall time of `restic -r B copy` run directly (RESTIC_FROM_* env),
 *                        same source, same machine, same run.
 *   copy_overhead_ratio  copy_agent_seconds / copy_restic_seconds (goal <= 1.05).
 *   copy_agent_cpu_s     CPU seconds the agent process itself (not restic) used per copy job:
 *                        the agent's own cost, far steadier than wall times on a shared machine.
 *
 * Source A: the ~1 GB testkit corpus backed up once with restic. Each run copies A into a fresh
 * B (initialised with `init --copy-chunker-params` outside the timing) with empty caches; agent
 * and raw runs alternate to share the noise. A warm-up `snapshots` job first loads the agent's
 * lazily loaded job modules (as init does before bench:agent's backups).
 *
 * Environment: BENCH_RUNS (default 3), BENCH_CORPUS_MB (default 1024), BENCH_CORPUS_DIR (an
 * existing corpus to use instead of generating .bench-data/agent-corpus-<MB>m, shared with
 * bench:agent), BENCH_NODE_FLAGS (replaces the unit's node flags).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { newSecretsKey, statePaths, writeAgentConfig } from '@restic-manager/agent';
import { makeCorpus, tempDir } from '@restic-manager/testkit';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const AGENT = path.join(root, 'packages/agent/dist/main.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CORPUS_MB = Number(process.env.BENCH_CORPUS_MB ?? 1024);
const PW_A = 'bench-copy-source-pw-1f9c';
const PW_B = 'bench-copy-target-pw-7a2d';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function unitNodeFlags(): string[] {
  if (process.env.BENCH_NODE_FLAGS !== undefined) return process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean);
  const unit = readFileSync(path.join(root, 'deploy/systemd/restic-manager-agent.service'), 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.trim().split(/\s+/) ?? [];
  const node = exec.findIndex((w) => /(^|\/)node$/.test(w));
  const flags: string[] = [];
  for (const w of node < 0 ? [] : exec.slice(node + 1)) {
    if (!w.startsWith('-')) break;
    flags.push(w);
  }
  return flags;
}

/** CPU seconds (user + system) the process itself has used; its children (restic) not included. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, err }));
  });
}

async function corpus(): Promise<string> {
  if (process.env.BENCH_CORPUS_DIR) return process.env.BENCH_CORPUS_DIR;
  const dir = path.join(root, '.bench-data', `agent-corpus-${CORPUS_MB}m`);
  if (!existsSync(path.join(dir, '.complete'))) {
    process.stderr.write(`generating a ${CORPUS_MB} MiB corpus in ${dir} (once)…\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await makeCorpus(path.join(dir, 'data'), { files: Math.max(50, CORPUS_MB * 2), totalBytes: CORPUS_MB * 1024 * 1024, seed: 'bench-agent' });
    writeFileSync(path.join(dir, '.complete'), new Date().toISOString());
  }
  return path.join(dir, 'data');
}

type Frame = { type: string; job_id?: string; status?: string; error?: string | null; [k: string]: unknown };

/** The server's side of the agent socket, reduced to what a copy job needs. */
class Gateway {
  private socket: WebSocket | null = null;
  private waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<Gateway> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server, path: '/api/agents/ws' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const g = new Gateway(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    wss.on('connection', (ws) => {
      g.socket = ws;
      ws.on('message', (d: Buffer) => {
        const f = JSON.parse(d.toString('utf8')) as Frame;
        if (f.type === 'hello') ws.send(JSON.stringify({ type: 'hello', protocol_version: 1, server_version: 'bench', host_id: 'bench' }));
        g.waiters = g.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
      });
    });
    return g;
  }

  next(pred: (f: Frame) => boolean): Promise<Frame> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  send(frame: object): void {
    if (!this.socket) throw new Error('the agent is not connected');
    this.socket.send(JSON.stringify(frame));
  }

  close(): void {
    this.socket?.terminate();
    this.server.close();
  }
}

async function main(): Promise<void> {
  if (!existsSync(AGENT)) throw new Error(`${AGENT} missing: run 'npx tsc -b'`);
  const src = await corpus();
  const tmp = await tempDir('rm-bench-copy-');
  const A = path.join(tmp.path, 'A');
  const B = path.join(tmp.path, 'B');
  const rawCache = path.join(tmp.path, 'raw-cache');
  const agentDir = path.join(tmp.path, 'agent');
  const gw = await Gateway.start();
  let agent: ChildProcess | null = null;
  try {
    const envA = { RESTIC_REPOSITORY: A, RESTIC_PASSWORD: PW_A };
    process.stderr.write('backing up the corpus to A…\n');
    for (const args of [['init'], ['backup', '--cache-dir', rawCache, src]]) {
      const r = await run('restic', args, envA);
      if (r.code !== 0) throw new Error(`restic ${args[0]!}: ${r.err}`);
    }
    const envB = { RESTIC_REPOSITORY: B, RESTIC_PASSWORD: PW_B, RESTIC_FROM_REPOSITORY: A, RESTIC_FROM_PASSWORD: PW_A };
    const fresh = async (): Promise<void> => {
      for (const d of [B, rawCache, path.join(agentDir, 'cache')]) rmSync(d, { recursive: true, force: true });
      const r = await run('restic', ['init', '--copy-chunker-params', '--no-cache'], envB);
      if (r.code !== 0) throw new Error(`restic init --copy-chunker-params: ${r.err}`);
    };

    mkdirSync(agentDir, { recursive: true });
    writeAgentConfig(statePaths(agentDir).config, { server_url: gw.url, host_id: 'bench', bearer: 'bench-bearer-0123456789abcdef0123456789', secrets_key: newSecretsKey() });
    const hello = gw.next((f) => f.type === 'hello');
    agent = spawn(process.execPath, [...unitNodeFlags(), AGENT, 'run', '--state-dir', agentDir], { stdio: 'ignore' });
    await hello;
    gw.send({ type: 'config.update', repository: A, password: PW_A });

    let n = 0;
    const job = async (kind: string, args: Record<string, unknown>, extra: object = {}): Promise<number> => {
      const id = `bench-${++n}`;
      const done = gw.next((f) => f.type === 'job.finished' && f.job_id === id);
      const t0 = performance.now();
      gw.send({ type: 'command.run', job_id: id, kind, args, ...extra });
      const f = await done;
      const ms = performance.now() - t0;
      if (f.status !== 'succeeded') throw new Error(`${kind} job ${String(f.status)}: ${String(f.error)}`);
      return ms;
    };
    await job('snapshots', {});

    const target = { id: 'repo-b', name: 'B', engine: 'restic', url: B, password: PW_B, credentials: { backend: 'local' } };
    const viaAgent: number[] = [];
    const raw: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await fresh();
      const cpu0 = cpuSeconds(agent.pid!);
      viaAgent.push(await job('copy', { target_repository_id: target.id }, { copy_target: target }));
      cpu.push(cpuSeconds(agent.pid!) - cpu0);

      await fresh();
      const t0 = performance.now();
      const r = await run('restic', ['copy', '--cache-dir', rawCache], envB);
      if (r.code !== 0) throw new Error(`restic copy: ${r.err}`);
      raw.push(performance.now() - t0);
      process.stderr.write(`run ${i + 1}/${RUNS}: agent ${(viaAgent[i]! / 1000).toFixed(2)} s, raw restic ${(raw[i]! / 1000).toFixed(2)} s\n`);
    }
    process.stdout.write(`copy_agent_seconds=${(median(viaAgent) / 1000).toFixed(2)}\n`);
    process.stdout.write(`copy_restic_seconds=${(median(raw) / 1000).toFixed(2)}\n`);
    process.stdout.write(`copy_overhead_ratio=${(median(viaAgent) / median(raw)).toFixed(3)}\n`);
    process.stdout.write(`copy_agent_cpu_s=${median(cpu).toFixed(2)}\n`);
  } finally {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    gw.close();
    await tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:copy failed: ${String(err)}\n`);
  process.exitCode = 1;
});
