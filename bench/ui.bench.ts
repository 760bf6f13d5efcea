/*
 * `npm run bench:ui [-- --hosts N --jobs N --requests N]`: server-side render time of the web UI
 * over a large seeded fleet (default 1,000 hosts, 200,000 jobs), measured as wall time of
 * sequential HTTP requests on loopback (a real server; the browser is not involved). The
 * JSON API for the same data is measured in the same run as the peer, so the ratio shows
 * what rendering HTML adds over serialising JSON.
 *
 * Prints: ui_hosts, ui_jobs_seeded, ui_dashboard_p50_ms, ui_dashboard_p95_ms, ui_host_p95_ms,
 * ui_host_jobs_p95_ms, ui_host_repo_p50_ms / ui_host_repo_p95_ms (the Repo tab with 6 trend charts
 * of 1 year of daily + 30 days of hourly points each, seeded for TREND_HOSTS hosts), ui_jobs_p95_ms, ui_job_p95_ms, api_hosts_p95_ms, api_jobs_p95_ms,
 * ui_dashboard_vs_api_ratio, ui_jobs_vs_api_ratio. Target: every ui_*_p95_ms < 50.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startServer } from '@restic-manager/server';
import { seedFleet } from './lib/ui-seed.js';
import { seedTrends } from './lib/trend-seed.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const HOSTS = arg('hosts', 1000);
const JOBS = arg('jobs', 200_000);
const REQUESTS = arg('requests', 200);
const TREND_HOSTS = 20;

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

async function main(): Promise<void> {
  const dir = path.resolve('.bench-data', `ui-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const password = 'bench-admin-password';
  const server = await startServer({ listen: '127.0.0.1:0', dataDir: dir, cookieSecure: false, adminPassword: password, logLevel: 'warn' });
  try {
    const t0 = performance.now();
    const { hostIds, jobIds } = await seedFleet(server.db, { hosts: HOSTS, jobs: JOBS, snapshotsPerHost: 50, alerts: 200 });
    process.stderr.write(`seeded ${HOSTS} hosts, ${JOBS} jobs in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    const login = await fetch(`${server.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'admin', password }),
      redirect: 'manual',
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    if (!cookie.startsWith('rm_session=')) throw new Error(`login failed: HTTP ${login.status}`);

    async function measure(name: string, urls: () => string): Promise<number[]> {
      const times: number[] = [];
      for (let i = 0; i < REQUESTS + 20; i++) {
        const u = urls();
        const start = performance.now();
        const r = await fetch(server.url + u, { headers: { cookie } });
        const body = await r.text();
        const ms = performance.now() - start;
        if (r.status !== 200) throw new Error(`${name}: ${u} -> HTTP ${r.status}: ${body.slice(0, 200)}`);
        if (i >= 20) times.push(ms); // the first 20 warm caches and the JIT
      }
      return times.sort((a, b) => a - b);
    }

    let k = 0;
    const pick = <T>(xs: T[]): T => xs[k++ % xs.length] as T;
    const enrolled = (await server.db.selectFrom('hosts').select('id').where('enrolled_at', 'is not', null).limit(200).execute()).map((h) => h.id);
    const trendHosts = enrolled.slice(0, TREND_HOSTS);
    let perSeries = 0;
    for (const id of trendHosts) perSeries = await seedTrends(server.db, id, { days: 365, hourlyDays: 30 });
    const results: Record<string, number[]> = {
      dashboard: await measure('dashboard', () => '/'),
      host: await measure('host', () => `/hosts/${pick(enrolled)}`),
      host_jobs: await measure('host_jobs', () => `/hosts/${pick(enrolled)}/jobs`),
      host_repo: await measure('host_repo', () => `/hosts/${pick(trendHosts)}/repo`),
      jobs: await measure('jobs', () => (k++ % 2 === 0 ? '/jobs' : '/jobs?status=failed&offset=50')),
      job: await measure('job', () => `/jobs/${pick(jobIds)}`),
      api_hosts: await measure('api_hosts', () => '/api/hosts?limit=100'),
      api_jobs: await measure('api_jobs', () => '/api/jobs?limit=100'),
    };
    const p = (n: string, q: number) => percentile(results[n] ?? [], q);
    const f = (v: number) => v.toFixed(2);
    const lines = [
      `ui_hosts=${hostIds.length}`,
      `ui_jobs_seeded=${jobIds.length}`,
      `ui_requests_per_page=${REQUESTS}`,
      `ui_dashboard_p50_ms=${f(p('dashboard', 50))}`,
      `ui_dashboard_p95_ms=${f(p('dashboard', 95))}`,
      `ui_host_p95_ms=${f(p('host', 95))}`,
      `ui_host_jobs_p95_ms=${f(p('host_jobs', 95))}`,
      `ui_host_repo_trend_points_per_chart=${perSeries}`,
      `ui_host_repo_p50_ms=${f(p('host_repo', 50))}`,
      `ui_host_repo_p95_ms=${f(p('host_repo', 95))}`,
      `ui_jobs_p50_ms=${f(p('jobs', 50))}`,
      `ui_jobs_p95_ms=${f(p('jobs', 95))}`,
      `ui_job_p95_ms=${f(p('job', 95))}`,
      `api_hosts_p95_ms=${f(p('api_hosts', 95))}`,
      `api_jobs_p95_ms=${f(p('api_jobs', 95))}`,
      `ui_dashboard_vs_api_ratio=${f(p('dashboard', 50) / p('api_hosts', 50))}`,
      `ui_jobs_vs_api_ratio=${f(p('jobs', 50) / p('api_jobs', 50))}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:ui failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
