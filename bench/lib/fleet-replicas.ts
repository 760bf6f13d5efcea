/*
 * `npm run bench:fleet -- --replicas R [--agents N] [--sqlite-agents M]` (issue 17,
 * docs/scale-out.md): R real `restic-manager server` processes (compiled CLI, each on its own
 * loopback port and data directory, one secret key file) on a throwaway PostgreSQL, N simulated
 * agents (fleet-agents.ts) spread over them, agent i on replica i mod R. Measured:
 *   fleet_connect_s          all N agents connected and greeted
 *   fleet_p50/p99_dispatch_ms  a run-now POSTed to replica r+1 -> command.run received by an agent
 *                            held by replica r (driver clock: HTTP, the relay over the bus, the
 *                            agent's socket); three hosts in four
 *   fleet_p99_dispatch_local_ms  the same for the fourth host, whose run-now goes to the replica
 *                            holding its agent (no relay): the difference is the bus's share
 *   fleet_replica_rss_mb     the largest replica's RSS with the agents connected (and busy, after
 *                            the run-nows)
 *   fleet_failover_s         replica 0 killed -9 -> every agent it held greeted by another replica
 *                            (each reconnects after the real agent's backoff to another replica)
 * Then, in the same run, one server on SQLite with M agents, the same figures prefixed
 * fleet_sqlite_ (dispatch measured the same way, so the two compare; its "failover" is a kill -9
 * and a restart on the same port: fleet_sqlite_restart_s), and the ratio of the p99s.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres } from '@restic-manager/testkit';
import type { ServerProc } from './fleet-common.js';
import { FleetAgents, enrollHosts, log, now, pct, pool, rssOf, signIn, sleep, startServerProcess, stopServer } from './fleet-common.js';

export interface ReplicaRunOptions {
  replicas: number;
  agents: number;
  procs: number;
  concurrency: number;
  /** Agents of the SQLite comparison (0: none). */
  sqliteAgents: number;
}

interface Server {
  proc: ServerProc;
  url: string;
}

interface Figures {
  connected: number;
  connectS: number;
  dispatched: number;
  p50: number;
  p99: number;
  /** p99 of the run-nows sent to the server holding the agent (with one server: all of them). */
  p99Local: number;
  rssMb: number;
  rssBusyMb: number;
  /** Agents the disruption cut off, how many came back, and the seconds until the last did. */
  lost: number;
  back: number;
  recoveryS: number;
}

const RECOVERY_LIMIT_MS = 180_000;

/**
 * Enrols `n` hosts, connects their agents (agent i to servers[i mod R]), sends every host a
 * run-now through the next server, then `disrupt`s server 0 (resolving with the instant of the
 * kill) and waits for every agent it held to be greeted again.
 */
async function measure(servers: Server[], n: number, o: ReplicaRunOptions, disrupt: () => Promise<number>): Promise<Figures> {
  const urls = servers.map((s) => s.url);
  const r = urls.length;
  const op = await signIn(urls[0]!);
  log(`enrolling ${n} hosts through ${r} server(s)`);
  const hosts = (await enrollHosts(op, urls, n)).map((h, i) => ({ ...h, replica: i % r }));
  const agents = new FleetAgents();
  try {
    log(`connecting ${n} agents with ${o.procs} processes`);
    const tc = now();
    await agents.start(urls, hosts, o.procs);
    const connectS = (now() - tc) / 1000;
    if (agents.failed) log(`${agents.failed} agents failed to connect`);
    await sleep(6000); // one presence heartbeat round (5 s): every replica knows where each agent is; GC settles
    const rssMb = Math.max(...servers.map((s) => rssOf(s.proc.pid!).rss));

    log(`sending run-now to ${n} hosts, ${r > 1 ? 'three in four through a replica other than the one holding the agent' : 'through the server'} (concurrency ${o.concurrency})`);
    const sent = new Map<string, { t: number; local: boolean }>();
    let refused = 0;
    const tr = now();
    await pool(hosts, o.concurrency, async (h, i) => {
      const local = i % 4 === 3;
      const t = now();
      const res = JSON.parse(await op.post(urls[(h.replica + (local ? 0 : 1)) % r]!, `/api/hosts/${h.host_id}/jobs`, { kind: 'check', args: {} })) as { job?: { id: string }; error?: { message?: string } };
      if (res.job) sent.set(res.job.id, { t, local: local || r === 1 });
      else if (refused++ === 0) log(`a run-now was refused: ${res.error?.message ?? JSON.stringify(res)}`);
    });
    while ([...sent.keys()].some((id) => !agents.received.has(id)) && now() - tr < 120_000) await sleep(50);
    const latency = (local: boolean): number[] => [...sent].filter(([, s]) => r === 1 || s.local === local).map(([id, s]) => (agents.received.get(id) ?? NaN) - s.t).filter((x) => Number.isFinite(x));
    const lat = latency(false);
    const localLat = r > 1 ? latency(true) : lat;
    const rssBusyMb = Math.max(...servers.map((s) => rssOf(s.proc.pid!).rss));

    const lost = hosts.filter((h) => h.replica === 0).map((h) => h.host_id);
    log(`killing server 0 (-9): ${lost.length} agents lose their socket`);
    const tk = await disrupt();
    const backAt = (): number[] => lost.map((id) => agents.reconnected.get(id) ?? 0).filter((t) => t > tk);
    while (backAt().length < lost.length && now() - tk < RECOVERY_LIMIT_MS) await sleep(50);
    const back = backAt();
    return {
      connected: agents.connected, connectS, dispatched: r > 1 ? lat.length + localLat.length : lat.length, p50: pct(lat, 50), p99: pct(lat, 99), p99Local: pct(localLat, 99), rssMb, rssBusyMb,
      lost: lost.length, back: back.length, recoveryS: back.length === lost.length ? (Math.max(...back) - tk) / 1000 : NaN,
    };
  } finally {
    agents.stop();
  }
}

/** The figures as `name=value` lines, names prefixed with `prefix`. */
function lines(prefix: string, f: Figures, recovery: string): Record<string, string | number> {
  return {
    [`${prefix}connected`]: f.connected,
    [`${prefix}connect_s`]: f.connectS.toFixed(2),
    [`${prefix}dispatched`]: f.dispatched,
    [`${prefix}p50_dispatch_ms`]: f.p50.toFixed(2),
    [`${prefix}p99_dispatch_ms`]: f.p99.toFixed(2),
    ...(prefix === 'fleet_' ? { fleet_p99_dispatch_local_ms: f.p99Local.toFixed(2) } : {}),
    [`${prefix}${prefix === 'fleet_' ? 'replica_' : ''}rss_mb`]: f.rssMb.toFixed(1),
    [`${prefix}${prefix === 'fleet_' ? 'replica_' : ''}rss_busy_mb`]: f.rssBusyMb.toFixed(1),
    [`${prefix}${recovery}_agents`]: f.lost,
    [`${prefix}${recovery}_reconnected`]: f.back,
    [`${prefix}${recovery}_s`]: f.recoveryS.toFixed(2),
  };
}

async function replicasOnPostgres(o: ReplicaRunOptions): Promise<Figures> {
  // Each replica keeps RM_DATABASE_POOL (10) connections and one for the bus.
  const pg = await startPostgres('bench-fleet-pg-secret', { maxConnections: o.replicas * 12 + 20 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-fleet-replicas-'));
  const servers: Server[] = [];
  try {
    pg.sql('CREATE DATABASE rm_fleet');
    const env = (i: number): Record<string, string> => {
      mkdirSync(path.join(dir, `r${i}`));
      return {
        RM_LISTEN: '127.0.0.1:0', RM_DATA_DIR: path.join(dir, `r${i}`), RM_SECRET_KEY_FILE: path.join(dir, 'secret.key'),
        RM_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@127.0.0.1:${pg.port}/rm_fleet`,
      };
    };
    // The first one migrates and writes the key file the others share; then the others at once.
    servers.push(await startServerProcess(env(0)));
    servers.push(...(await Promise.all(Array.from({ length: o.replicas - 1 }, (_, i) => startServerProcess(env(i + 1))))));
    log(`${o.replicas} replicas on PostgreSQL: ${servers.map((s) => s.url).join(' ')}`);
    return await measure(servers, o.agents, o, () => {
      servers[0]!.proc.kill('SIGKILL');
      return Promise.resolve(now());
    });
  } finally {
    for (const s of servers) await stopServer(s.proc);
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function oneOnSqlite(o: ReplicaRunOptions): Promise<Figures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-fleet-sqlite-'));
  const server = await startServerProcess({ RM_LISTEN: '127.0.0.1:0', RM_DATA_DIR: dir });
  const servers: Server[] = [server];
  try {
    log('one server on SQLite');
    return await measure(servers, o.sqliteAgents, o, async () => {
      const exited = new Promise((r) => server.proc.once('exit', r));
      server.proc.kill('SIGKILL');
      const t = now();
      await exited;
      // the same port, so the agents' reconnects find it
      servers.push(await startServerProcess({ RM_LISTEN: new URL(server.url).host, RM_DATA_DIR: dir }));
      return t;
    });
  } finally {
    for (const s of servers) await stopServer(s.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runReplicas(o: ReplicaRunOptions): Promise<void> {
  const pg = await replicasOnPostgres(o);
  const out: Record<string, string | number> = { fleet_replicas: o.replicas, fleet_store: 'postgres', fleet_agents: o.agents, fleet_procs: o.procs, ...lines('fleet_', pg, 'failover') };
  if (o.sqliteAgents > 0) {
    const lite = await oneOnSqlite(o);
    Object.assign(out, { fleet_sqlite_agents: o.sqliteAgents, ...lines('fleet_sqlite_', lite, 'restart'), fleet_p99_dispatch_vs_sqlite_ratio: (pg.p99 / lite.p99).toFixed(2) });
  }
  out.fleet_load_avg_1m = os.loadavg()[0]?.toFixed(2) ?? '';
  for (const [k, v] of Object.entries(out)) process.stdout.write(`${k}=${v}\n`);
}
