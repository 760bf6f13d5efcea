/*
 * Fleet benchmark: `npm run bench:fleet -- --agents N [--procs P]`.
 * Starts the real server (compiled CLI, child process), enrolls N hosts over the REST API,
 * connects N simulated agents spread over P child processes, then sends a run-now to every
 * host and measures:
 *   fleet_connect_s          all N agents connected and greeted (hello answered)
 *   fleet_p50/p99_dispatch_ms  command.run sent -> job.started received, measured by the
 *                            server (restic_manager_dispatch_latency_seconds summary on /metrics)
 *   fleet_p50/p99_runnow_ms  run-now POST sent by the operator -> command.run received by the
 *                            agent (includes HTTP queueing at the driver's concurrency)
 *   fleet_all_running_s      first POST -> server has recorded job.started for all N jobs
 *   fleet_server_rss_mb      server RSS with N agents connected (and peak, VmHWM)
 *   fleet_server_cpu_ms_per_job  server CPU (user+sys) spent per run-now, incl. its job.started
 *                            and the driver's polling — a load-independent cost figure
 * Peer measured in the same run: GET /healthz latency at the same concurrency (HTTP round
 * trip with no database work), printed with the ratio dispatch p50 / healthz p50.
 */
import { fork, spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`--${name} needs a positive integer\n`);
    process.exit(2);
  }
  return v;
};
const N = arg('agents', 1000);
const P = arg('procs', Math.min(4, Math.max(1, Math.ceil(N / 500))));
const CONC = arg('concurrency', 64);
const PASSWORD = 'bench-admin-password';
const now = (): number => performance.timeOrigin + performance.now();
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const log = (s: string) => process.stderr.write(`[fleet] ${s}\n`);

async function pool<T>(items: T[], conc: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

/** User+system CPU milliseconds the process has used so far (clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * The driver's HTTP client: node:http with a keep-alive pool sized to the concurrency, so the
 * measured latency is the server's, not a client pool's (connections are opened once).
 */
const pool64 = new http.Agent({ keepAlive: true, maxSockets: 256 });
function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: pool64 }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve(data));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function rssOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-fleet-'));
  const nodeArgs = (process.env.FLEET_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const server = spawn(process.execPath, [...nodeArgs, path.join(root, 'packages/cli/dist/main.js'), 'server'], {
    env: { PATH: process.env.PATH, RM_LISTEN: '127.0.0.1:0', RM_DATA_DIR: dataDir, RM_ADMIN_PASSWORD: PASSWORD, RM_COOKIE_SECURE: 'false', RM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    server.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1]) resolve(m[1]);
    });
    server.on('exit', (c) => reject(new Error(`server exited ${c}: ${err}`)));
  });
  const children: ReturnType<typeof fork>[] = [];
  try {
    const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const cookie = `rm_session=${/rm_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? ''}`;
    const { csrf_token } = (await login.json()) as { csrf_token: string };
    const post = (p: string, body: unknown) => request(`${url}${p}`, 'POST', { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf_token }, JSON.stringify(body));

    log(`enrolling ${N} hosts`);
    const t0 = now();
    const agents: { host_id: string; bearer: string }[] = new Array(N);
    await pool([...Array(N).keys()], 16, async (i) => {
      const add = JSON.parse(await post('/api/hosts', { name: `bench-${i}`, repository: { url: `/srv/restic/bench-${i}`, password: 'bench-repo-password' } })) as { token: string };
      const enr = await fetch(`${url}/api/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: add.token, hostname: `bench-${i}` }) });
      const e = (await enr.json()) as { host_id: string; bearer_token: string };
      agents[i] = { host_id: e.host_id, bearer: e.bearer_token };
    });
    log(`enrolled in ${((now() - t0) / 1000).toFixed(1)} s; connecting with ${P} processes`);

    const received = new Map<string, number>();
    let connected = 0;
    let failed = 0;
    const allConnected = new Promise<void>((resolve) => {
      let done = 0;
      for (let p = 0; p < P; p++) {
        const child = fork(path.join(here, 'lib', 'fleet-agents.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        children.push(child);
        child.on('message', (m: { type: string; count?: number; failed?: number; items?: [string, number][] }) => {
          if (m.type === 'connected') {
            connected += m.count ?? 0;
            failed += m.failed ?? 0;
            if (++done === P) resolve();
          }
          if (m.type === 'dispatch') for (const [id, t] of m.items ?? []) received.set(id, t);
        });
      }
    });
    const tc = now();
    children.forEach((c, p) => c.send({ type: 'start', url, agents: agents.filter((_, i) => i % P === p), concurrency: Math.max(8, Math.ceil(256 / P)) }));
    await allConnected;
    const connectS = (now() - tc) / 1000;
    if (failed) log(`${failed} agents failed to connect`);
    await new Promise((r) => setTimeout(r, 6000)); // let the heartbeat flush and GC settle
    const idle = rssOf(server.pid!);

    log(`sending run-now to ${N} hosts (concurrency ${CONC})`);
    const sent = new Map<string, number>();
    const cpu0 = cpuMsOf(server.pid!);
    const tr = now();
    await pool(agents, CONC, async (a) => {
      const t = now();
      const res = JSON.parse(await post(`/api/hosts/${a.host_id}/jobs`, { kind: 'check', args: {} })) as { job: { id: string } };
      sent.set(res.job.id, t);
    });
    while (received.size < N && now() - tr < 120_000) await new Promise((r) => setTimeout(r, 50));
    let running = 0;
    while (now() - tr < 120_000) {
      const r = (await (await fetch(`${url}/api/jobs?status=running&limit=1`, { headers: { cookie } })).json()) as { total: number };
      running = r.total;
      if (running >= N) break;
      await new Promise((r2) => setTimeout(r2, 100));
    }
    const allRunningS = (now() - tr) / 1000;
    const cpuPerJob = (cpuMsOf(server.pid!) - cpu0) / N;
    const lat = [...sent].map(([id, t]) => (received.get(id) ?? NaN) - t).filter((x) => Number.isFinite(x));
    const busy = rssOf(server.pid!);

    const peer: number[] = [];
    await pool([...Array(Math.min(N, 2000)).keys()], CONC, async () => {
      const t = now();
      await request(`${url}/healthz`, 'GET', {});
      peer.push(now() - t);
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const q = (p: string) => Number(new RegExp(`restic_manager_dispatch_latency_seconds\\{quantile="${p}"\\} (\\S+)`).exec(metrics)?.[1]) * 1000;
    const p50 = pct(lat, 50);
    const peer50 = pct(peer, 50);
    const out = {
      fleet_agents: N,
      fleet_procs: P,
      fleet_connected: connected,
      fleet_connect_s: connectS.toFixed(2),
      fleet_dispatched: lat.length,
      fleet_p50_dispatch_ms: q('0.5').toFixed(2),
      fleet_p99_dispatch_ms: q('0.99').toFixed(2),
      fleet_p50_runnow_ms: p50.toFixed(2),
      fleet_p99_runnow_ms: pct(lat, 99).toFixed(2),
      fleet_max_runnow_ms: Math.max(...lat).toFixed(2),
      fleet_all_running_s: allRunningS.toFixed(2),
      fleet_running_jobs: running,
      fleet_server_cpu_ms_per_job: cpuPerJob.toFixed(2),
      fleet_load_avg_1m: os.loadavg()[0]?.toFixed(2),
      fleet_server_rss_mb: idle.rss.toFixed(1),
      fleet_server_rss_busy_mb: busy.rss.toFixed(1),
      fleet_server_peak_rss_mb: busy.hwm.toFixed(1),
      fleet_server_eventloop_lag_max_ms: (Number(/^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(metrics)?.[1]) * 1000).toFixed(1),
      fleet_peer_healthz_p50_ms: peer50.toFixed(2),
      fleet_runnow_vs_healthz_p50_ratio: (p50 / peer50).toFixed(2),
    };
    for (const [k, v] of Object.entries(out)) process.stdout.write(`${k}=${v}\n`);
  } finally {
    for (const c of children) c.send({ type: 'stop' });
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`fleet benchmark failed: ${(e as Error).message}\n`);
  process.exit(1);
});
