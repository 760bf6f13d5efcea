/*
 * `npm run bench:agent` — the agent's footprint and overhead (issue 4, spec §4.2).
 *
 *   agent_idle_rss_mb      RSS of the real agent process (packages/agent/dist/main.js run, with
 *                          the node flags of the systemd unit), connected to a real server, one
 *                          schedule applied, and idle for BENCH_IDLE_S (default 60) s.
 *   agent_idle_private_mb  the part of that RSS no other process shares (the rest is mostly the
 *                          node binary's own pages).
 *   node_floor_rss_mb      a bare `node` with the same flags doing nothing, idle alongside for the
 *                          same time: the floor no agent code can go below.
 *   agent_idle_over_floor_mb  the agent's RSS above that floor (what the agent's code costs).
 *   agent_overhead_ratio   median wall time of a run-now backup of the ~1 GB corpus through
 *                          server + agent (POST /api/hosts/:id/jobs -> job.finished on the browser
 *                          stream) divided by the median of a raw `restic backup` of the same
 *                          corpus, same machine, same run. Each run starts from an empty repository
 *                          and an empty cache; runs alternate between the two, and so does which
 *                          of the two goes first, to share the noise.
 *   agent_cpu_s_per_backup CPU seconds the agent process itself (not restic) used per init + backup
 *                          run: the agent's own cost of a job, far steadier than wall times.
 *
 * Environment: BENCH_RUNS (default 3), BENCH_CORPUS_MB (default 1024), BENCH_IDLE_S (default 60),
 * BENCH_NODE_FLAGS (replaces the unit's node flags, e.g. to measure a candidate V8 flag).
 * The corpus is generated once into .bench-data/agent-corpus-<MB>m (testkit makeCorpus).
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { tempDir } from '@restic-manager/testkit';
import { agentCorpus, cpuSeconds, median, runCommand as run, sleep, startAgentStack, unitNodeFlags } from './lib/agent-stack.js';
import { alternate } from './lib/alternate.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CORPUS_MB = Number(process.env.BENCH_CORPUS_MB ?? 1024);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const REPO_PW = 'bench-repo-password-4c2e';
const UNIT_NODE_FLAGS = unitNodeFlags();

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Memory only this process holds (USS): RSS minus pages shared with other processes (the node binary). */
function privateMb(pid: number): number {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
  return (kb('Private_Clean') + kb('Private_Dirty')) / 1024;
}

async function main(): Promise<void> {
  const src = await agentCorpus(CORPUS_MB);
  const tmp = await tempDir('rm-bench-agent-');
  const repo = path.join(tmp.path, 'repo');
  const stack = await startAgentStack(tmp.path, { url: repo, password: REPO_PW }, UNIT_NODE_FLAGS).catch(async (err: unknown) => {
    await tmp.cleanup();
    throw err;
  });
  const { server, cookie, api, agentDir } = stack;
  const host = { host_id: stack.hostId };
  const agent = stack.agent!;
  try {
    // A realistic idle agent holds a schedule (in the host's zone; one that cannot fire during the run).
    await api('POST', `/api/hosts/${host.host_id}/schedules`, { kind: 'backup', cron_expr: '0 3 1 1 *', paths: [src] });
    for (let i = 0; !((await api<{ applied_schedule_version: number | null }>('GET', `/api/hosts/${host.host_id}`)).applied_schedule_version ?? 0); i++) {
      if (i > 200) throw new Error('agent did not apply the schedule');
      await sleep(100);
    }

    // 1. Idle footprint: connected, schedule applied, no job has run yet (the engine is loaded lazily).
    // The floor: a bare node with the same flags, idling alongside for the same time.
    const floor = spawn(process.execPath, [...UNIT_NODE_FLAGS, '-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    process.stderr.write(`agent connected (pid ${agent.pid}, node ${UNIT_NODE_FLAGS.join(' ')}); idling ${IDLE_S} s…\n`);
    await sleep(IDLE_S * 1000);
    const idleRss = rssMb(agent.pid!);
    const floorRss = rssMb(floor.pid!);
    floor.kill('SIGTERM');
    process.stdout.write(`agent_idle_rss_mb=${idleRss.toFixed(1)}\n`);
    process.stdout.write(`agent_idle_private_mb=${privateMb(agent.pid!).toFixed(1)}\n`);
    process.stdout.write(`node_floor_rss_mb=${floorRss.toFixed(1)}\n`);
    process.stdout.write(`agent_idle_over_floor_mb=${(idleRss - floorRss).toFixed(1)}\n`);

    /** One run-now job, timed from the POST to job.finished on the browser stream. */
    const runJob = async (kind: string, args: Record<string, unknown>): Promise<{ ms: number; status: string; id: string }> => {
      const t0 = performance.now();
      const { job } = await api<{ job: { id: string } }>('POST', `/api/hosts/${host.host_id}/jobs`, { kind, args });
      const done = new Promise<{ ms: number; status: string; id: string }>((resolve, reject) => {
        const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/jobs/${job.id}/stream`, { headers: { cookie, origin: server.url } });
        ws.on('message', (d: Buffer) => {
          const f = JSON.parse(d.toString('utf8')) as { type: string; status?: string };
          if (f.type === 'job.finished') {
            resolve({ ms: performance.now() - t0, status: f.status ?? '?', id: job.id });
            ws.close();
          }
        });
        ws.on('error', reject);
      });
      // A job that finished before the stream attached: fall back to polling.
      const poll = (async () => {
        for (;;) {
          await sleep(50);
          const j = await api<{ status: string }>('GET', `/api/jobs/${job.id}`);
          if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return { ms: performance.now() - t0, status: j.status, id: job.id };
        }
      })();
      return Promise.race([done, poll]);
    };
    /** A failed job's error and the last lines of its log, for the failure message. */
    const jobError = async (id: string): Promise<string> => {
      const j = await api<{ error: string | null }>('GET', `/api/jobs/${id}`);
      const logs = await api<{ items: { payload: string }[] }>('GET', `/api/jobs/${id}/logs`);
      return `${j.error ?? '(no error text)'}; log: ${logs.items.slice(-5).map((l) => l.payload).join(' | ')}`;
    };
    const fresh = async (): Promise<void> => {
      rmSync(repo, { recursive: true, force: true });
      rmSync(path.join(agentDir, 'cache'), { recursive: true, force: true });
      rmSync(path.join(tmp.path, 'raw-cache'), { recursive: true, force: true });
    };

    // 2. Overhead: alternate agent and raw restic runs, each from an empty repository.
    const viaAgent: number[] = [];
    const raw: number[] = [];
    const cpu0 = cpuSeconds(agent.pid!);
    const agentOnce = async (): Promise<string> => {
      await fresh();
      const init = await runJob('init', {});
      if (init.status !== 'succeeded') throw new Error(`init via the agent ${init.status}: ${await jobError(init.id)}`);
      const a = await runJob('backup', { paths: [src] });
      if (a.status !== 'succeeded') throw new Error(`agent backup ${a.status}: ${await jobError(a.id)}`);
      viaAgent.push(a.ms);
      return a.id;
    };
    const rawOnce = async (): Promise<void> => {
      await fresh();
      const env = { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: REPO_PW };
      const ri = await run('restic', ['init', '--cache-dir', path.join(tmp.path, 'raw-cache')], env);
      if (ri.code !== 0) throw new Error(`restic init: ${ri.err}`);
      const t0 = performance.now();
      const rb = await run('restic', ['backup', '--json', '--cache-dir', path.join(tmp.path, 'raw-cache'), src], env);
      if (rb.code !== 0) throw new Error(`restic backup: ${rb.err}`);
      raw.push(performance.now() - t0);
    };
    for (let i = 0; i < RUNS; i++) {
      // Which of the two goes first alternates too: the second finds the machine warmer.
      const id = await alternate(i, agentOnce, rawOnce);
      // Where the agent's time went, on the server's clock (created → started → finished).
      const j = await api<{ created_at: string; started_at: string | null; finished_at: string | null }>('GET', `/api/jobs/${id}`);
      const at = (t: string | null): number => (t ? Date.parse(t) : NaN);
      const split = `queued→started ${((at(j.started_at) - at(j.created_at)) / 1000).toFixed(2)} s, started→finished ${((at(j.finished_at) - at(j.started_at)) / 1000).toFixed(2)} s`;
      process.stderr.write(`run ${i + 1}/${RUNS} (${i % 2 === 0 ? 'agent first' : 'raw first'}): agent ${(viaAgent[i]! / 1000).toFixed(2)} s (${split}), raw restic ${(raw[i]! / 1000).toFixed(2)} s\n`);
    }
    const busyRss = rssMb(agent.pid!);
    const agentCpu = (cpuSeconds(agent.pid!) - cpu0) / RUNS;
    process.stdout.write(`agent_backup_s_median=${(median(viaAgent) / 1000).toFixed(2)}\n`);
    process.stdout.write(`restic_backup_s_median=${(median(raw) / 1000).toFixed(2)}\n`);
    process.stdout.write(`agent_overhead_ratio=${(median(viaAgent) / median(raw)).toFixed(3)}\n`);
    process.stdout.write(`agent_rss_after_backups_mb=${busyRss.toFixed(1)}\n`);
    process.stdout.write(`agent_cpu_s_per_backup=${agentCpu.toFixed(2)}\n`);
  } finally {
    await stack.close();
    await tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:agent failed: ${String(err)}\n`);
  process.exitCode = 1;
});
