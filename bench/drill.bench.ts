/*
 * `npm run bench:drill` — what a restore drill costs over a raw `restic restore` of the same files
 * (issue 16).
 *
 *   drill_seconds          median wall time of a restore drill through the real server and the real
 *                          agent process (startServer in-process; packages/agent/dist/main.js
 *                          enrolled and run with the systemd unit's node flags): from `POST
 *                          /api/hosts/{id}/restore-drills` to the job's end (GET /api/jobs/{id}
 *                          polled every 50 ms). Measured: the server's drill service (job row, drill
 *                          row, audit), command.run, the agent's queue, jobs/drill-run.ts — restic
 *                          snapshots (the latest), restic ls of the whole snapshot streamed through
 *                          the sampler, restic restore --verify --include <sample> into a scratch
 *                          directory, the size checks, the byte comparison with the unchanged live
 *                          files, the scratch directory's removal — and the server's job.finished
 *                          handling (drill row, alerts).
 *   raw_restore_seconds    median wall time of `restic restore <snapshot> --verify --include <the
 *                          same files>` into a fresh directory (the bench computes the sample with the
 *                          agent's own DrillSampler and the same seed, and checks that the drill
 *                          restored as many files and bytes), same repository, same machine, same run.
 *   drill_overhead_ratio   drill_seconds / raw_restore_seconds (goal <= 1.10).
 *   drill_throughput_mibs / raw_throughput_mibs   sample bytes / each median.
 *   drill_rto_seconds      the drill's RTO estimate of the whole snapshot (last run).
 *
 * The repository: the host's primary, initialised and given one backup of the testkit corpus by
 * the agent before any timing. Every timed step starts with empty restic caches (the agent's and
 * the raw run's) and waits until the agent has had no child process for 1 s; drill and raw runs
 * alternate, and so does which of the two goes first, to share the noise. Each run's stderr line splits the drill's time by the server's
 * job timestamps and the agent's own figures (restore_seconds vs the rest of the job).
 *
 * Environment: BENCH_RUNS (default 3), BENCH_CORPUS_MB (default 1024), BENCH_CORPUS_DIR (an
 * existing corpus instead of .bench-data/agent-corpus-<MB>m, shared with bench:agent/copy),
 * BENCH_SAMPLE_FILES (default 1000, the most a drill takes), BENCH_SAMPLE_BYTES (default 512 MiB),
 * BENCH_NODE_FLAGS (replaces the unit's node flags).
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DrillSampler } from '@restic-manager/agent';
import { tempDir } from '@restic-manager/testkit';
import { agentCorpus, agentIdle, median, runCommand as run, sleep, startAgentStack, unitNodeFlags } from './lib/agent-stack.js';
import { alternate } from './lib/alternate.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CORPUS_MB = Number(process.env.BENCH_CORPUS_MB ?? 1024);
const SAMPLE_FILES = Number(process.env.BENCH_SAMPLE_FILES ?? 1000);
const SAMPLE_BYTES = Number(process.env.BENCH_SAMPLE_BYTES ?? 512 * 1024 * 1024);
const SEED = 'bench-drill';
const PW = 'bench-drill-repo-pw-3e8a';

/** `restic ls --json` of a snapshot: its id, its regular files, and its backup paths. */
function lsFiles(repo: string, snapshot: string): Promise<{ id: string; files: { path: string; size: number }[]; paths: string[] }> {
  return new Promise((resolve, reject) => {
    const c = spawn('restic', ['-r', repo, 'ls', '--json', '--no-lock', snapshot], { env: { ...process.env, RESTIC_PASSWORD: PW }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let err = '';
    const files: { path: string; size: number }[] = [];
    let paths: string[] = [];
    let id = '';
    const line = (l: string): void => {
      if (!l.trim()) return;
      const v = JSON.parse(l) as { struct_type?: string; id?: string; type?: string; path?: string; size?: number; paths?: string[] };
      if (v.struct_type === 'snapshot') {
        paths = v.paths ?? [];
        id = v.id ?? '';
      }
      else if (v.type === 'file' && v.path) files.push({ path: v.path, size: v.size ?? 0 });
    };
    c.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      parts.forEach(line);
    });
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => (code === 0 ? (line(buf), resolve({ id, files, paths })) : reject(new Error(`restic ls: ${err}`))));
  });
}

const glob = (p: string): string => p.replace(/[*?[\\]/g, '\\$&');

async function main(): Promise<void> {
  const src = process.env.BENCH_CORPUS_DIR ?? (await agentCorpus(CORPUS_MB));
  if (!existsSync(src)) throw new Error(`corpus ${src} does not exist`);
  const tmp = await tempDir('rm-bench-drill-');
  const repo = path.join(tmp.path, 'repo');
  const rawOut = path.join(tmp.path, 'raw-out');
  const rawCache = path.join(tmp.path, 'raw-cache');
  const flags = unitNodeFlags();
  const stack = await startAgentStack(tmp.path, { url: repo, password: PW }, flags).catch(async (err: unknown) => {
    await tmp.cleanup();
    throw err;
  });
  const { api, agentDir } = stack;
  const hostId = stack.hostId;
  const agent = stack.agent!;
  const agentCache = path.join(agentDir, 'cache');
  type Job = { id: string; status: string; error: string | null; stats: Record<string, number | string> | null; created_at: string; started_at: string | null; finished_at: string | null };
  const wait = async (id: string): Promise<Job> => {
    for (;;) {
      const j = await api<Job>('GET', `/api/jobs/${id}`);
      if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return j;
      await sleep(50);
    }
  };
  const hostJob = async (kind: string, args: Record<string, unknown>): Promise<void> => {
    const j = await wait((await api<{ job: { id: string } }>('POST', `/api/hosts/${hostId}/jobs`, { kind, args })).job.id);
    if (j.status !== 'succeeded') throw new Error(`${kind} job ${j.status}: ${j.error ?? ''}`);
  };
  try {
    process.stderr.write(`agent connected (pid ${agent.pid}, node ${flags.join(' ')}); init and backup of the corpus…\n`);
    await hostJob('init', {});
    await hostJob('backup', { paths: [src] });

    const drills: number[] = [];
    const raws: number[] = [];
    let bytes = 0;
    let rto = 0;
    // The same files, chosen by the agent's own sampler with the same seed, from the one snapshot.
    const ls = await lsFiles(repo, 'latest');
    const latest = ls.id;
    const sampler = new DrillSampler({ count: SAMPLE_FILES, bytes: SAMPLE_BYTES, seed: SEED, roots: ls.paths });
    for (const f of ls.files) sampler.add(f);
    const sample = sampler.result().files;
    const sampleBytes = sample.reduce((n, f) => n + f.size, 0);
    const drillOnce = async (): Promise<Job> => {
      await agentIdle(agent.pid!);
      rmSync(agentCache, { recursive: true, force: true });
      const t0 = performance.now();
      const { jobs } = await api<{ jobs: { id: string }[] }>('POST', `/api/hosts/${hostId}/restore-drills`, { sample_files: SAMPLE_FILES, sample_bytes: SAMPLE_BYTES, seed: SEED });
      const j = await wait(jobs[0]!.id);
      const ms = performance.now() - t0;
      if (j.status !== 'succeeded' || !j.stats) throw new Error(`drill ${j.status}: ${j.error ?? ''}`);
      if (j.stats.snapshot_id !== latest || sample.length !== Number(j.stats.files) || sampleBytes !== Number(j.stats.bytes)) throw new Error(`the bench's sample (${latest.slice(0, 8)}: ${sample.length} files, ${sampleBytes} bytes) differs from the drill's (${String(j.stats.snapshot_id).slice(0, 8)}: ${j.stats.files}, ${j.stats.bytes})`);
      drills.push(ms);
      return j;
    };
    const rawOnce = async (): Promise<void> => {
      await agentIdle(agent.pid!);
      rmSync(rawOut, { recursive: true, force: true });
      rmSync(rawCache, { recursive: true, force: true });
      const r0 = performance.now();
      const r = await run('restic', ['-r', repo, 'restore', latest, '--target', rawOut, '--verify', '--cache-dir', rawCache, ...sample.flatMap((f) => ['--include', glob(f.path)])], { RESTIC_PASSWORD: PW });
      if (r.code !== 0) throw new Error(`restic restore: ${r.err}`);
      raws.push(performance.now() - r0);
      rmSync(rawOut, { recursive: true, force: true });
    };
    for (let i = 0; i < RUNS; i++) {
      // The order alternates (drill first, then raw first).
      const j = await alternate(i, drillOnce, rawOnce);
      const ms = drills[i]!;
      const st = j.stats!;
      bytes = Number(st.bytes);
      rto = Number(st.rto_seconds);
      const span = (x: string, y: string | null): string => (y ? ((Date.parse(y) - Date.parse(x)) / 1000).toFixed(2) : '?');
      process.stderr.write(`run ${i + 1}/${RUNS} (${i % 2 === 0 ? 'drill first' : 'raw first'}): drill ${(ms / 1000).toFixed(2)} s (${st.files} files, ${(bytes / 2 ** 20).toFixed(1)} MiB of ${(Number(st.snapshot_bytes) / 2 ** 20).toFixed(0)} MiB; server clock queued→started ${span(j.created_at, j.started_at)} s, started→finished ${span(j.started_at ?? j.created_at, j.finished_at)} s; agent: list ${Number(st.list_seconds).toFixed(2)} s, restore ${Number(st.restore_seconds).toFixed(2)} s, checks ${Number(st.check_seconds).toFixed(2)} s of ${Number(st.duration_seconds).toFixed(2)} s), raw restic restore ${(raws[i]! / 1000).toFixed(2)} s\n`);
    }
    const d = median(drills) / 1000;
    const r = median(raws) / 1000;
    process.stdout.write(`drill_seconds=${d.toFixed(2)}\n`);
    process.stdout.write(`raw_restore_seconds=${r.toFixed(2)}\n`);
    process.stdout.write(`drill_overhead_ratio=${(d / r).toFixed(3)}\n`);
    process.stdout.write(`drill_throughput_mibs=${(bytes / 2 ** 20 / d).toFixed(1)}\n`);
    process.stdout.write(`raw_throughput_mibs=${(bytes / 2 ** 20 / r).toFixed(1)}\n`);
    process.stdout.write(`drill_rto_seconds=${rto.toFixed(0)}\n`);
  } finally {
    await stack.close();
    await tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:drill failed: ${String(err)}\n`);
  process.exitCode = 1;
});
