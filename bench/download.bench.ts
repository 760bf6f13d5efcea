/*
 * `npm run bench:download` — a folder downloaded from a snapshot through the server and the agent,
 * against a raw `restic dump` of the same folder (issue 16).
 *
 *   download_s_median        median wall time of `GET /api/hosts/{id}/snapshots/{snap}/download
 *                            ?path=<folder>&format=tar` read to its end by this process (as a
 *                            browser would; the bytes are counted and dropped): the server's checks,
 *                            download.start, the agent's size check (`restic ls --recursive`, run
 *                            alongside the dump), `restic dump --archive tar`, the chunk frames
 *                            within the credit window, and the HTTP answer.
 *   restic_dump_s_median     median wall time of `restic dump --archive tar <snap> <folder>` run
 *                            directly with stdout to /dev/null, same repository, same machine.
 *   download_overhead_ratio  download_s_median / restic_dump_s_median (goal <= 1.10).
 *
 * The stack is bench/lib/agent-stack.ts: the real server in this process and the real agent
 * process (the systemd unit's node flags). The corpus (BENCH_CORPUS_MB, default 200, generated
 * once into .bench-data/agent-corpus-<MB>m) is backed up once by the agent's own init and backup
 * jobs; the timed runs alternate download and raw dump, BENCH_RUNS (default 3) of each, after
 * one untimed download that warms restic's cache and the agent's lazily loaded download module.
 */
import path from 'node:path';
import { tempDir } from '@restic-manager/testkit';
import { agentCorpus, median, runCommand, sleep, startAgentStack, unitNodeFlags } from './lib/agent-stack.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CORPUS_MB = Number(process.env.BENCH_CORPUS_MB ?? 200);
const PW = 'bench-download-password-1';

async function main(): Promise<void> {
  const src = await agentCorpus(CORPUS_MB);
  const tmp = await tempDir('rm-bench-download-');
  const repo = path.join(tmp.path, 'repo');
  const stack = await startAgentStack(tmp.path, { url: repo, password: PW }, unitNodeFlags()).catch(async (err: unknown) => {
    await tmp.cleanup();
    throw err;
  });
  const { api, server, cookie, hostId } = stack;
  try {
    const job = async (kind: string, args: Record<string, unknown>): Promise<void> => {
      const id = (await api<{ job: { id: string } }>('POST', `/api/hosts/${hostId}/jobs`, { kind, args })).job.id;
      for (;;) {
        const j = await api<{ status: string; error: string | null }>('GET', `/api/jobs/${id}`);
        if (j.status === 'succeeded') return;
        if (j.status === 'failed' || j.status === 'cancelled') throw new Error(`${kind} job ${j.status}: ${j.error ?? ''}`);
        await sleep(100);
      }
    };
    process.stderr.write(`init and backup of the ${CORPUS_MB} MiB corpus…\n`);
    await job('init', {});
    await job('backup', { paths: [src] });
    let snap = '';
    for (let i = 0; !snap; i++) {
      if (i > 200) throw new Error('the snapshot was not listed');
      snap = (await api<{ items: { id: string }[] }>('GET', `/api/hosts/${hostId}/snapshots`)).items[0]?.id ?? '';
      if (!snap) await sleep(100);
    }

    const download = async (): Promise<{ s: number; bytes: number; firstS: number }> => {
      const t0 = performance.now();
      const r = await fetch(`${server.url}/api/hosts/${hostId}/snapshots/${snap}/download?path=${encodeURIComponent(src)}&format=tar`, { headers: { cookie } });
      if (r.status !== 200) throw new Error(`download: HTTP ${r.status} ${await r.text()}`);
      const firstS = (performance.now() - t0) / 1000;
      let bytes = 0;
      for await (const c of r.body! as unknown as AsyncIterable<Uint8Array>) bytes += c.length;
      return { s: (performance.now() - t0) / 1000, bytes, firstS };
    };
    const dump = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await runCommand('restic', ['dump', '--archive', 'tar', snap, src], { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PW });
      if (r.code !== 0) throw new Error(`restic dump failed: ${r.err}`);
      return (performance.now() - t0) / 1000;
    };

    const warm = await download();
    process.stderr.write(`warm-up download: ${warm.bytes} bytes in ${warm.s.toFixed(2)} s\n`);
    const d: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const x = await download();
      if (x.bytes !== warm.bytes) throw new Error(`download ${i} gave ${x.bytes} bytes, the warm-up ${warm.bytes}`);
      d.push(x.s);
      raw.push(await dump());
      process.stderr.write(`run ${i + 1}/${RUNS}: download ${d.at(-1)!.toFixed(2)} s (first bytes after ${x.firstS.toFixed(2)} s), restic dump ${raw.at(-1)!.toFixed(2)} s\n`);
    }
    const dm = median(d);
    const rm = median(raw);
    process.stdout.write(`download_bytes=${warm.bytes}\n`);
    process.stdout.write(`download_s_median=${dm.toFixed(3)}\n`);
    process.stdout.write(`restic_dump_s_median=${rm.toFixed(3)}\n`);
    process.stdout.write(`download_overhead_ratio=${(dm / rm).toFixed(3)}\n`);
  } finally {
    await stack.close();
    await tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:download failed: ${String(err)}\n`);
  process.exitCode = 1;
});
