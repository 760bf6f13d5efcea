/**
 * `npm run bench:engine`: restic backup of a ~1 GB, ~2,500-file mixed corpus, raw
 * (`restic backup --json`, output read and discarded) vs through @restic-manager/engines (in a
 * separate Node process, so its peak RSS is its own), alternating, to fresh local repositories.
 * engine_overhead_ratio uses the engine.backup() call's wall time inside that process; the
 * variant with Node's start-up is printed too. Prints name=value lines.
 * Env: ENGINE_BENCH_RUNS (default 5), ENGINE_BENCH_BYTES / ENGINE_BENCH_FILES to shrink the corpus.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCorpus } from './lib/vault-corpus.js';
import { childPids, trackPeakRss } from './lib/peak-rss.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const work = path.join(root, '.bench-data', 'engine-bench');
const runs = Number(process.env.ENGINE_BENCH_RUNS ?? 5);
const PASSWORD = 'engine-bench-password';
const out = (k: string, v: number | string): void => {
  process.stdout.write(`${k}=${typeof v === 'number' ? Number(v.toFixed(3)) : v}\n`);
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

interface Timed {
  wallMs: number;
  /** user + system CPU seconds of the process tree (GNU time), NaN when /usr/bin/time is missing. */
  cpuS: number;
  /** Peak RSS of the process we started (restic for raw, Node for the library), KiB. */
  peakKb: number;
  /** Peak RSS of restic itself, KiB. */
  resticPeakKb: number;
  stdout: string;
}

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/**
 * Runs `cmd` (under GNU time for CPU accounting: wait4's rusage includes the children the
 * process reaped, so the library's figure covers Node and its restic child).
 */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const timeFile = path.join(work, `time-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const [bin, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
    const t = performance.now();
    const child = spawn(bin, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The measured process is the child's child when GNU time wraps it.
    let own = GNU_TIME ? undefined : trackPeakRss(child.pid ?? 0);
    let restic = own;
    const find = setInterval(() => {
      const direct = GNU_TIME ? childPids(child.pid ?? 0)[0] : child.pid;
      if (!direct) return;
      own ??= trackPeakRss(direct);
      if (cmd === 'restic') {
        restic = own;
        clearInterval(find);
        return;
      }
      const kid = childPids(direct)[0]; // the library's restic child
      if (kid) {
        restic = trackPeakRss(kid);
        clearInterval(find);
      }
    }, 50);
    child.once('exit', () => clearInterval(find));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (cmd !== 'restic') stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - t;
      const peakKb = own?.stop() ?? 0;
      const resticPeakKb = restic?.stop() ?? 0;
      let cpuS = Number.NaN;
      if (GNU_TIME && existsSync(timeFile)) {
        const [u, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)?.split(' ').map(Number) ?? [];
        cpuS = (u ?? Number.NaN) + (sys ?? Number.NaN);
        rmSync(timeFile, { force: true });
      }
      if (code !== 0) reject(new Error(`${cmd} exited ${String(code)}: ${stderr}`));
      else resolve({ wallMs, cpuS, peakKb, resticPeakKb, stdout });
    });
  });
}

async function freshRepo(name: string): Promise<{ repo: string; cache: string; env: NodeJS.ProcessEnv }> {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const repo = path.join(dir, 'repo');
  const cache = path.join(dir, 'cache');
  const env = { ...process.env, RESTIC_PASSWORD: PASSWORD, RESTIC_BENCH_PASSWORD: PASSWORD };
  await timed('restic', ['-r', repo, '--cache-dir', cache, 'init'], env);
  // (init is not measured)
  return { repo, cache, env };
}

async function main(): Promise<void> {
  const files = Number(process.env.ENGINE_BENCH_FILES ?? 2500);
  const totalBytes = Number(process.env.ENGINE_BENCH_BYTES ?? 1_000_000_000);
  const corpus = await ensureCorpus(path.join(root, '.bench-data'), { files, totalBytes, seed: 'engine-1g' });
  const worker = path.join(here, 'lib', 'engine-worker.js');
  const raw: Timed[] = [];
  const lib: Timed[] = [];
  const libInner: number[] = [];
  const libRss: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first so drift (page cache, other load) hits both alike.
    const order = i % 2 === 0 ? (['raw', 'lib'] as const) : (['lib', 'raw'] as const);
    for (const which of order) {
      const { repo, cache, env } = await freshRepo(`${which}-${i}`);
      if (which === 'raw') {
        raw.push(await timed('restic', ['-r', repo, '--cache-dir', cache, 'backup', '--json', corpus], env));
      } else {
        const t = await timed(process.execPath, [worker, repo, cache, corpus], env);
        lib.push(t);
        const report = JSON.parse(t.stdout.trim().split('\n').at(-1) ?? '{}') as { wallMs: number; maxRssKb: number };
        libInner.push(report.wallMs);
        libRss.push(report.maxRssKb);
      }
      process.stderr.write(`run ${i + 1}/${runs} ${which}: ${((which === 'raw' ? raw.at(-1) : lib.at(-1))!.wallMs / 1000).toFixed(2)} s\n`);
      rmSync(path.dirname(repo), { recursive: true, force: true });
    }
  }
  const rawMed = median(raw.map((r) => r.wallMs));
  const libMed = median(lib.map((r) => r.wallMs));
  out('engine_corpus_files', files);
  out('engine_corpus_bytes', totalBytes);
  out('engine_runs', runs);
  out('engine_raw_wall_s_median', rawMed / 1000);
  out('engine_library_wall_s_median', libMed / 1000);
  out('engine_library_backup_call_s_median', median(libInner) / 1000);
  out('engine_raw_walls_s', raw.map((r) => (r.wallMs / 1000).toFixed(2)).join(','));
  out('engine_library_walls_s', lib.map((r) => (r.wallMs / 1000).toFixed(2)).join(','));
  out('engine_raw_cpu_s_median', median(raw.map((r) => r.cpuS)));
  out('engine_library_cpu_s_median', median(lib.map((r) => r.cpuS)));
  out('engine_cpu_overhead_ratio', median(lib.map((r) => r.cpuS)) / median(raw.map((r) => r.cpuS)));
  out('engine_restic_peak_rss_mb', Math.max(...raw.map((r) => r.peakKb)) / 1024);
  out('engine_library_restic_peak_rss_mb', Math.max(...lib.map((r) => r.resticPeakKb)) / 1024);
  // The library process itself (Node + @restic-manager/engines), from its own getrusage.
  out('engine_peak_rss_mb', Math.max(...libRss) / 1024);
  // Library wall = engine.backup() call to resolved Result, measured inside the library process
  // (spawn of restic included, Node's own start-up not: the agent is a long-running process).
  out('engine_overhead_ratio', median(libInner) / rawMed);
  out('engine_overhead_ratio_with_node_startup', libMed / rawMed);
  // Pairs run back to back share the machine's load at that moment; their ratios are steadier.
  out('engine_overhead_ratio_paired_median', median(libInner.map((l, i) => l / (raw[i]?.wallMs ?? Number.NaN))));
}

await main();
