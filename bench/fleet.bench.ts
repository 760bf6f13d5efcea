/*
 * Fleet benchmark: `npm run bench:fleet -- --agents N [--procs P]` (`--help` lists the options).
 * With `--replicas R` it measures R server replicas on one PostgreSQL instead (bench/lib/fleet-replicas.ts).
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
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FleetAgents, cpuMsOf, enrollHosts, log, now, pct, pool, request, rssOf, signIn, startServerProcess, stopServer } from './lib/fleet-common.js';
import { runReplicas } from './lib/fleet-replicas.js';

const HELP = `npm run bench:fleet -- [options]

One server (SQLite) with N simulated agents, by default. Options (all have defaults):
  --agents N          agents (default 1000; with --replicas 30000)
  --procs P           processes simulating the agents (default: one per 500 agents, at most 4)
  --concurrency C     run-now requests in flight (default 64)
  --replicas R        (R >= 2; absent: one server) measure R server replicas sharing one PostgreSQL instead (a throwaway
                      PostgreSQL is started); prints fleet_p99_dispatch_ms (a run-now sent to one
                      replica -> command.run at an agent held by another), fleet_replica_rss_mb
                      (max over replicas), fleet_connect_s and fleet_failover_s (one replica killed
                      -9 -> all its agents greeted by the others; they reconnect with the real
                      agent's backoff to another replica), then the same figures for one server
                      on SQLite, prefixed fleet_sqlite_ (its failover is a kill -9 and restart:
                      fleet_sqlite_restart_s)
  --store postgres    the replicas' store (the only one that can be shared; default with --replicas)
  --sqlite-agents M   agents of the SQLite comparison in a --replicas run (default 10000; 0 skips it)
  --help              this text
`;

/** `--name value` as a non-negative integer (positive unless `zero`), or `dflt` when absent. */
function intArg(name: string, dflt: number, zero = false): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 0 || (v === 0 && !zero)) {
    process.stderr.write(`--${name} needs a ${zero ? 'non-negative' : 'positive'} integer\n`);
    process.exit(2);
  }
  return v;
}

if (process.argv.includes('--help')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const REPLICAS = process.argv.includes('--replicas') ? intArg('replicas', 3) : 0;
if (REPLICAS === 1) {
  process.stderr.write('--replicas needs at least 2 (one replica cannot fail over; leave it out for one server)\n');
  process.exit(2);
}
const N = intArg('agents', REPLICAS ? 30_000 : 1000);
const P = intArg('procs', Math.min(4, Math.max(1, Math.ceil(N / 500))));
const CONC = intArg('concurrency', 64);
const storeAt = process.argv.indexOf('--store');
const STORE = storeAt >= 0 ? process.argv[storeAt + 1] : REPLICAS ? 'postgres' : 'sqlite';
if (REPLICAS ? STORE !== 'postgres' : STORE !== 'sqlite') {
  process.stderr.write(REPLICAS ? `--store ${STORE ?? ''}: replicas share a PostgreSQL store (--store postgres)\n` : `--store ${STORE ?? ''}: without --replicas the benchmark runs one server on SQLite\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-fleet-'));
  const { proc: server, url } = await startServerProcess({ RM_LISTEN: '127.0.0.1:0', RM_DATA_DIR: dataDir });
  const agentsProc = new FleetAgents();
  try {
    const op = await signIn(url);
    const { cookie } = op;
    const post = (p: string, body: unknown) => op.post(url, p, body);

    log(`enrolling ${N} hosts`);
    const t0 = now();
    const agents = await enrollHosts(op, [url], N);
    log(`enrolled in ${((now() - t0) / 1000).toFixed(1)} s; connecting with ${P} processes`);

    const tc = now();
    await agentsProc.start([url], agents, P);
    const { received, connected, failed } = agentsProc;
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
    agentsProc.stop();
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

(REPLICAS ? runReplicas({ replicas: REPLICAS, agents: N, procs: P, concurrency: CONC, sqliteAgents: intArg('sqlite-agents', 10_000, true) }) : main()).catch((e: unknown) => {
  process.stderr.write(`fleet benchmark failed: ${(e as Error).message}\n`);
  process.exit(1);
});
