/*
 * `npm run bench:browse` — paging through a large snapshot directory (issue 22).
 *
 *   browse_first_page_ms    the agent's answer to the first `snapshot.ls` page of a directory of
 *                           BENCH_ENTRIES (default 100,000) files (restic ls runs).
 *   browse_page_ms_median   median answer time of later pages at spread offsets (served from the
 *                           agent's kept listing; goal ≤ 100 ms).
 *   restic_ls_page_ms_median  the peer: a raw `restic ls --json <snap> <dir>` read to the same
 *                           offsets, which is what every page cost before (median over the same offsets).
 *   browse_page_speedup     restic_ls_page_ms_median / browse_page_ms_median.
 *
 * The agent side is its RequestHandler (packages/agent/src/jobs/requests.ts) with the real restic
 * engine, in this process; the corpus is made once under .bench-data/browse-<N>.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RequestHandler, createLogger } from '@restic-manager/agent';
import { createEngine } from '@restic-manager/engines';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const N = Number(process.env.BENCH_ENTRIES ?? 100_000);
const PW = 'bench-browse-password-1';
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Reads `restic ls --json` of the directory until `upTo` children have been seen (as the old agent did per page). */
function rawLs(repo: string, snap: string, dir: string, upTo: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn('restic', ['ls', '--json', '--no-lock', snap, dir], { env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PW }, stdio: ['ignore', 'pipe', 'ignore'] });
    let seen = 0;
    let rest = '';
    c.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        if (l.includes('"struct_type":"node"')) JSON.parse(l);
        seen++;
      }
      if (seen >= upTo + 2) c.kill('SIGTERM');
    });
    c.on('close', () => resolve(performance.now() - t0));
    c.on('error', reject);
  });
}

async function main(): Promise<void> {
  const base = path.join(root, '.bench-data', `browse-${N}`);
  const dir = path.join(base, 'src', 'big');
  const repo = path.join(base, 'repo');
  const engine = createEngine('restic');
  let snap = '';
  if (!existsSync(path.join(base, '.complete'))) {
    process.stderr.write(`making a ${N}-entry directory and backing it up (once)…\n`);
    rmSync(base, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < N; i++) writeFileSync(path.join(dir, `f${String(i).padStart(7, '0')}`), '');
    const conn = { repository: repo, password: PW };
    if (!(await engine.init(conn)).ok) throw new Error('restic init failed');
    const b = await engine.backup(conn, { paths: [dir] });
    if (!b.ok) throw new Error(`restic backup failed: ${b.error.message}`);
    writeFileSync(path.join(base, '.complete'), b.value.snapshotId);
  }
  const snaps = await engine.snapshots({ repository: repo, password: PW });
  if (!snaps.ok || snaps.value.length === 0) throw new Error('no snapshot');
  snap = snaps.value[0]!.id;
  const sent: Record<string, unknown>[] = [];
  const jobFiles = path.join(base, 'job-files');
  const h = new RequestHandler({ engine: async () => engine, jobFilesDir: jobFiles, secrets: () => ({ repository: repo, password: PW }), send: (f) => void sent.push(f), log: createLogger({ write: () => undefined }) });
  const page = async (offset: number): Promise<number> => {
    const before = sent.length;
    const t0 = performance.now();
    h.handle({ type: 'snapshot.ls', request_id: `b${offset}`, snapshot_id: snap, path: dir, limit: 500, offset });
    while (sent.length === before) await new Promise((r) => setImmediate(r));
    const ms = performance.now() - t0;
    if ((sent[before] as { error: string | null }).error) throw new Error(String((sent[before] as { error: string }).error));
    return ms;
  };
  const first = await page(0);
  const offsets = [500, 10_000, 25_000, 50_000, 75_000, N - 500].filter((o) => o < N);
  const agent: number[] = [];
  for (const o of offsets) agent.push(await page(o));
  const raw: number[] = [];
  for (const o of offsets) raw.push(await rawLs(repo, snap, dir, o + 500));
  const a = median(agent);
  const r = median(raw);
  process.stdout.write(`browse_entries=${N}\n`);
  process.stdout.write(`browse_first_page_ms=${first.toFixed(1)}\n`);
  process.stdout.write(`browse_page_ms_median=${a.toFixed(2)}\n`);
  process.stdout.write(`restic_ls_page_ms_median=${r.toFixed(1)}\n`);
  process.stdout.write(`browse_page_speedup=${(r / a).toFixed(1)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:browse failed: ${String(err)}\n`);
  process.exitCode = 1;
});
