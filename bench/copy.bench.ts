/*
 * `npm run bench:copy` — what a copy job costs over a raw `restic copy` (issue 15).
 *
 *   copy_agent_seconds   median wall time of a copy through the real server and the real agent
 *                        process (startServer in-process; packages/agent/dist/main.js enrolled
 *                        and run with the systemd unit's node flags): from `POST
 *                        /api/copy-policies/{id}/run` to the job's `job.finished` on the browser
 *                        job stream (`/api/jobs/{id}/stream`; a GET /api/jobs/{id} poll every
 *                        50 ms only as a fallback for a job ending before the stream attaches).
 *                        Each run uses a new target repository B (`POST /api/repositories`) and a
 *                        new policy A -> B (mode after_backup, host_id the host), so every copy is
 *                        its policy's first and carries `init_target: true`: the time includes the
 *                        agent's `restic init --copy-chunker-params` of B. Measured: the server's
 *                        policy run (job row, audit, both repositories' configs decrypted), the
 *                        command.run frame, the agent's job queue, copy_target validation and
 *                        materialisation, jobs/copy-run.ts, the engine's init + restic copy with
 *                        progress (and its parallel source snapshot count), log/progress frames,
 *                        the server's job.finished handling (copy bookkeeping, alerts) and its
 *                        browser stream.
 *   copy_restic_seconds  median wall time of the same two restic commands run directly into a
 *                        fresh directory: `restic -r B init --copy-chunker-params --from-repo A`
 *                        then `restic -r B copy --from-repo A --host <hostname>` (passwords in
 *                        RESTIC_PASSWORD / RESTIC_FROM_PASSWORD; the agent copies only its own
 *                        host's snapshots, hence --host), same source, same machine, same run.
 *   copy_overhead_ratio  copy_agent_seconds / copy_restic_seconds (goal <= 1.05).
 *   copy_agent_cpu_s     median CPU seconds the agent process itself (not restic) used per copy job:
 *                        the agent's own cost, far steadier than wall times on a shared machine.
 *
 * Source A: the host's primary repository, initialised and given one backup of the ~1 GB
 * testkit corpus by run-now init and backup jobs of the agent before any timing (they also load
 * the agent's lazily loaded job modules). Every timed copy, through the agent or raw, starts
 * with empty restic caches and an empty target; agent and raw runs alternate to share the noise.
 * Before each timed step the bench waits until the agent has had no child process for 1 s: the
 * restic commands the agent runs after a job.finished (the lock listing after every job; the
 * snapshot list, stats and keys after the backup) are not timed and do not overlap a timed step.
 * Each run's stderr line splits the agent's time by the server's job timestamps (queued ->
 * started -> finished) and the agent's timestamp of restic's "created restic repository" line,
 * and gives the raw run's init part.
 *
 * Environment: BENCH_RUNS (default 3), BENCH_CORPUS_MB (default 1024), BENCH_CORPUS_DIR (an
 * existing corpus to use instead of generating .bench-data/agent-corpus-<MB>m, shared with
 * bench:agent), BENCH_NODE_FLAGS (replaces the unit's node flags).
 */
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { tempDir } from '@restic-manager/testkit';
import { agentCorpus, agentIdle, cpuSeconds, median, runCommand as run, sleep, startAgentStack, unitNodeFlags } from './lib/agent-stack.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CORPUS_MB = Number(process.env.BENCH_CORPUS_MB ?? 1024);
const PW_A = 'bench-copy-source-pw-1f9c';
const PW_B = 'bench-copy-target-pw-7a2d';

type Timed = { ms: number; status: string; id: string; via: 'stream' | 'poll' };

async function main(): Promise<void> {
  const src = process.env.BENCH_CORPUS_DIR ?? (await agentCorpus(CORPUS_MB));
  if (!existsSync(src)) throw new Error(`corpus ${src} does not exist`);
  const tmp = await tempDir('rm-bench-copy-');
  const A = path.join(tmp.path, 'A');
  const rawB = path.join(tmp.path, 'raw-B');
  const rawCache = path.join(tmp.path, 'raw-cache');
  const flags = unitNodeFlags();
  // The host, its primary repository A, the real agent enrolled and connected.
  const stack = await startAgentStack(tmp.path, { url: A, password: PW_A }, flags).catch(async (err: unknown) => {
    await tmp.cleanup();
    throw err;
  });
  const { server, cookie, api, agentDir } = stack;
  const host = { host_id: stack.hostId };
  const agent = stack.agent!;
  const agentCache = path.join(agentDir, 'cache');
  try {
    const repos = await api<{ items: { repository: { id: string }; primary: boolean }[] }>('GET', `/api/hosts/${host.host_id}/repositories`);
    const sourceId = repos.items.find((r) => r.primary)?.repository.id;
    if (!sourceId) throw new Error('the host has no primary repository');

    /** Times from `start()` (the POST that queues the job) to job.finished on the browser stream. */
    const timed = async (start: () => Promise<string>): Promise<Timed> => {
      const t0 = performance.now();
      const id = await start();
      let ws: WebSocket | undefined;
      let stop = false;
      const stream = new Promise<Timed>((resolve, reject) => {
        ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/jobs/${id}/stream`, { headers: { cookie, origin: server.url } });
        ws.on('message', (d: Buffer) => {
          const f = JSON.parse(d.toString('utf8')) as { type: string; status?: string };
          if (f.type === 'job.finished') resolve({ ms: performance.now() - t0, status: f.status ?? '?', id, via: 'stream' });
        });
        ws.on('error', reject);
      });
      // A job that finished before the stream attached: fall back to polling.
      const poll = (async (): Promise<Timed> => {
        for (;;) {
          await sleep(50);
          if (stop) return new Promise<Timed>(() => undefined);
          const j = await api<{ status: string }>('GET', `/api/jobs/${id}`);
          if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return { ms: performance.now() - t0, status: j.status, id, via: 'poll' };
        }
      })();
      try {
        return await Promise.race([stream, poll]);
      } finally {
        stop = true;
        ws?.close();
      }
    };
    /** A failed job's error and the last lines of its log, for the failure message. */
    const jobError = async (id: string): Promise<string> => {
      const j = await api<{ error: string | null }>('GET', `/api/jobs/${id}`);
      const logs = await api<{ items: { payload: string }[] }>('GET', `/api/jobs/${id}/logs`);
      return `${j.error ?? '(no error text)'}; log: ${logs.items.slice(-5).map((l) => l.payload).join(' | ')}`;
    };
    const hostJob = async (kind: string, args: Record<string, unknown>): Promise<void> => {
      const r = await timed(async () => (await api<{ job: { id: string } }>('POST', `/api/hosts/${host.host_id}/jobs`, { kind, args })).job.id);
      if (r.status !== 'succeeded') throw new Error(`${kind} job ${r.status}: ${await jobError(r.id)}`);
    };

    process.stderr.write(`agent connected (pid ${agent.pid}, node ${flags.join(' ')}); init and backup of the corpus into A…\n`);
    await hostJob('init', {});
    await hostJob('backup', { paths: [src] });

    const rawEnv = { RESTIC_PASSWORD: PW_B, RESTIC_FROM_PASSWORD: PW_A };
    const viaAgent: number[] = [];
    const raw: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Through server + agent: a new target repository and policy, so this is the policy's first copy (init_target).
      const B = path.join(tmp.path, `B-${i + 1}`);
      rmSync(B, { recursive: true, force: true });
      rmSync(agentCache, { recursive: true, force: true });
      const target = await api<{ repository: { id: string } }>('POST', '/api/repositories', { name: `bench-B-${i + 1}`, url: B, password: PW_B });
      const policy = await api<{ id: string }>('POST', '/api/copy-policies', { source_repository_id: sourceId, target_repository_id: target.repository.id, host_id: host.host_id, mode: 'after_backup' });
      await agentIdle(agent.pid!);
      const cpu0 = cpuSeconds(agent.pid!);
      const a = await timed(async () => {
        const { job_ids } = await api<{ job_ids: string[] }>('POST', `/api/copy-policies/${policy.id}/run`, { host_id: host.host_id });
        if (job_ids.length !== 1) throw new Error(`policy run queued ${job_ids.length} jobs, expected 1`);
        return job_ids[0]!;
      });
      cpu.push(cpuSeconds(agent.pid!) - cpu0);
      if (a.status !== 'succeeded') throw new Error(`copy job ${a.status}: ${await jobError(a.id)}`);
      viaAgent.push(a.ms);
      const jv = await api<{ created_at: string; started_at: string | null; finished_at: string | null }>('GET', `/api/jobs/${a.id}`);
      const span = (x: string, y: string | null | undefined): string => (y ? ((Date.parse(y) - Date.parse(x)) / 1000).toFixed(2) : '?');
      const logs = await api<{ items: { ts: string; payload: string }[] }>('GET', `/api/jobs/${a.id}/logs?limit=5000`);
      const initDone = logs.items.find((l) => l.payload.startsWith('created restic repository'))?.ts;
      rmSync(B, { recursive: true, force: true });

      // Raw restic: the same init + copy into a fresh directory, empty cache.
      await agentIdle(agent.pid!);
      rmSync(rawB, { recursive: true, force: true });
      rmSync(rawCache, { recursive: true, force: true });
      const t0 = performance.now();
      const ri = await run('restic', ['-r', rawB, 'init', '--copy-chunker-params', '--from-repo', A, '--cache-dir', rawCache], rawEnv);
      if (ri.code !== 0) throw new Error(`restic init --copy-chunker-params: ${ri.err}`);
      const rawInit = performance.now() - t0;
      const rc = await run('restic', ['-r', rawB, 'copy', '--from-repo', A, '--host', os.hostname(), '--cache-dir', rawCache], rawEnv);
      if (rc.code !== 0) throw new Error(`restic copy: ${rc.err}`);
      raw.push(performance.now() - t0);
      rmSync(rawB, { recursive: true, force: true });
      process.stderr.write(`run ${i + 1}/${RUNS}: agent ${(a.ms / 1000).toFixed(2)} s (job.finished via ${a.via}; server clock: queued→started ${span(jv.created_at, jv.started_at)} s, started→finished ${span(jv.started_at ?? jv.created_at, jv.finished_at)} s of which until B's init logged ${span(jv.started_at ?? jv.created_at, initDone)} s; agent cpu ${cpu[i]!.toFixed(2)} s), raw restic ${(raw[i]! / 1000).toFixed(2)} s (init ${(rawInit / 1000).toFixed(2)} s)\n`);
    }
    process.stdout.write(`copy_agent_seconds=${(median(viaAgent) / 1000).toFixed(2)}\n`);
    process.stdout.write(`copy_restic_seconds=${(median(raw) / 1000).toFixed(2)}\n`);
    process.stdout.write(`copy_overhead_ratio=${(median(viaAgent) / median(raw)).toFixed(3)}\n`);
    process.stdout.write(`copy_agent_cpu_s=${median(cpu).toFixed(2)}\n`);
  } finally {
    await stack.close();
    await tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:copy failed: ${String(err)}\n`);
  process.exitCode = 1;
});
