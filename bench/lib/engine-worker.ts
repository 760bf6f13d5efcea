/**
 * One library backup in its own Node process, so the benchmark can report the library
 * process's peak RSS in isolation. Usage: node engine-worker.js <repo> <cacheDir> <source>
 * (password in RESTIC_BENCH_PASSWORD). Prints one JSON line: { ok, wallMs, maxRssKb, progressEvents }.
 */
import { ResticEngine } from '@restic-manager/engines';

const [repo, cacheDir, source] = process.argv.slice(2);
if (!repo || !cacheDir || !source) {
  process.stderr.write('usage: engine-worker <repo> <cacheDir> <source>\n');
  process.exit(2);
}
const engine = new ResticEngine();
let events = 0;
const t = performance.now();
const r = await engine.backup(
  { repository: repo, password: process.env.RESTIC_BENCH_PASSWORD ?? '', cacheDir },
  { paths: [source] },
  { onProgress: () => events++ },
);
const wallMs = performance.now() - t;
process.stdout.write(`${JSON.stringify({ ok: r.ok, error: r.ok ? undefined : r.error.message, wallMs, maxRssKb: process.resourceUsage().maxRSS, progressEvents: events })}\n`);
process.exit(r.ok ? 0 : 1);
