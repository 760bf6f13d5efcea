import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import type { Logger } from 'pino';
import { CloseCode } from '@restic-manager/protocol';
import type { FrameRate, ServerMessage } from '@restic-manager/protocol';
import type { ServerConfig, ServerConfigInput } from './config.js';
import { ConfigError, derivedClusterUrl, resolveConfig } from './config.js';
import { passwordWeakness } from './services/password-policy.js';
import { SecretBox, loadOrCreateKey } from './crypto/secret-box.js';
import type { MountWeb } from './http/app.js';
import { createApp, defaultAgentTarball, defaultInstallDir } from './http/app.js';
import { answerClientError } from './http/client-error.js';
import type { ClusterOptions } from './cluster/open-cluster.js';
import { openCluster } from './cluster/open-cluster.js';
import { ReplicaDownloadClient } from './cluster/replica-download-client.js';
import { Metrics } from './http/metrics.js';
import { metricsExposureWarning } from './http/metrics-exposure.js';
import { CidrList, clientIp } from './http/net.js';
import type { RouteSpec } from './http/route.js';
import { createLogger } from './logger.js';
import { createRepositories, inTransaction } from './repositories/index.js';
import { SERVER_VERSION } from './version.js';
import { MetricsRepository } from './repositories/metrics.repository.js';
import type { Repositories, ServiceDeps } from './services/context.js';
import type { JobLogLimits } from './services/job-log-quota.js';
import type { AlertingOptions, Services } from './services/services.js';
import { createServices } from './services/services.js';
import type { StreamTimeouts } from './services/download-streams.js';
import { OidcService } from './services/oidc.service.js';
import type { DataDirLock } from './store/data-dir-lock.js';
import { lockDataDir } from './store/data-dir-lock.js';
import type { Db } from './store/db.js';
import { migrate, openStore, readiness } from './store/db.js';
import { openPgStore } from './store/pg.js';
import { AgentGateway } from './ws/agent-gateway.js';
import { AgentRegistry } from './ws/agent-registry.js';
import { JobStream } from './ws/job-stream.js';
import { sessionCookieName } from './http/auth.middleware.js';

export interface StartOptions {
  /** Where JSON log lines go (default stdout). Tests pass a capturing stream. */
  logStream?: NodeJS.WritableStream;
  /** Web UI hook; default: src/web/index.ts's `mountWeb` when that module exists; null = none. */
  mountWeb?: MountWeb | null;
  /** Clock override (ms since epoch) for expiry tests. */
  now?: () => number;
  /** How long an agent may take to send hello after connecting (default 10 s). */
  helloTimeoutMs?: number;
  /** Overrides MIN_AGENT_PROTOCOL_VERSION (tests of protocol_too_old). */
  minAgentProtocolVersion?: number;
  /** Notification retry timing and the alert evaluation period (tests shorten them). */
  alerting?: AlertingOptions;
  /** Per-job log quota (default JOB_LOG_LIMITS; tests shrink it). */
  jobLogLimits?: JobLogLimits;
  /** Per-connection agent frame rate (default AGENT_FRAME_RATE; tests shrink it). */
  agentFrameRate?: FrameRate;
  /** Download stream timeouts (default 120 s each; tests shorten them). */
  downloadTimeouts?: StreamTimeouts;
  /** Replica presence timing on a PostgreSQL store (tests shorten it). */
  cluster?: ClusterOptions;
}

/** A running server. `close()` is graceful: stop accepting, tell agents, flush, close the DB. */
export interface RunningServer {
  url: string;
  port: number;
  config: ServerConfig;
  /** Set on first run when the admin password was generated (print it once, then forget it). */
  generatedAdminPassword: string | null;
  services: Services;
  db: Db;
  log: Logger;
  routes: RouteSpec[];
  /** Every page and form action of the web UI (method, path pattern), for route-by-route tests. */
  webRoutes: { method: string; path: string }[];
  agentsConnected(): number;
  /** This replica's id on the cluster bus (PostgreSQL store); null with SQLite. */
  replicaId: string | null;
  close(): Promise<void>;
}

/** What a start has opened so far, closed again if the start fails. */
interface Started {
  store?: { close(): Promise<void> };
  cluster?: { close(): Promise<void> };
}

/**
 * Starts the control plane: data dir, key file (0600), migrations, admin bootstrap, HTTP + WS.
 * Listens on config.listenPort (0 = ephemeral; see `port`/`url`). Throws on start-up failure.
 */
export async function startServer(input: ServerConfig | ServerConfigInput, opts: StartOptions = {}): Promise<RunningServer> {
  const config = 'listenHost' in input ? input : resolveConfig(input);
  const weak = config.adminPassword === null ? null : await passwordWeakness(config.adminPassword, ['admin']);
  if (weak) throw new ConfigError('RM_ADMIN_PASSWORD', weak);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Before anything reads or writes the data dir or the database: a second server on the same
  // directory stops here having changed nothing (no key file, no migration, no host marked offline).
  const lock = lockDataDir(config.dataDir);
  const started: Started = {};
  try {
    return await startLocked(config, opts, lock, started);
  } catch (e) {
    await started.cluster?.close().catch(() => undefined);
    await started.store?.close().catch(() => undefined);
    lock.release();
    throw e;
  }
}

/** startServer's body once the data directory is locked; records the opened store in `started` for clean-up. */
async function startLocked(config: ServerConfig, opts: StartOptions, lock: DataDirLock, started: Started): Promise<RunningServer> {
  const now = opts.now ?? Date.now;
  const log = createLogger(config.logLevel, opts.logStream);
  const { key, created } = loadOrCreateKey(config.secretKeyFile);
  if (created) log.info({ file: config.secretKeyFile }, 'generated a new secret key file (mode 0600); back it up with the database');
  const store = config.databaseUrl
    ? openPgStore(config.databaseUrl, config.databasePool, (e) => log.warn({ err: e.message }, 'PostgreSQL dropped an idle connection; the pool opens a new one'))
    : openStore(path.join(config.dataDir, 'restic-manager.db'));
  started.store = store;
  log.info({ store: config.databaseUrl ? 'postgres' : 'sqlite' }, 'database opened');
  const applied = await migrate(store.db);
  if (applied.length) log.info({ migrations: applied }, 'database migrated');
  const db = store.db;
  const repos: Repositories = createRepositories(db);
  const m: Metrics = new Metrics(new MetricsRepository(db), SERVER_VERSION, () => cluster?.link.fleetHostIds() ?? new Set(registry.hostIds()), () => registry.connectedCount());
  const onSend = (_host: string, msg: ServerMessage): void => {
    if (msg.type === 'command.run') m.commandSent(msg.job_id);
  };
  const registry: AgentRegistry = new AgentRegistry(onSend);
  const box = new SecretBox(key);
  // Several replicas share a PostgreSQL store: they reach each other's agents and browsers over its LISTEN/NOTIFY (docs/scale-out.md).
  const cluster = config.databaseUrl ? openCluster(config.databaseUrl, db, box, log, registry, onSend, opts.cluster) : null;
  if (cluster) started.cluster = cluster;
  let baseUrl = config.baseUrl ?? '';
  const deps: ServiceDeps = { db, repos, inTx: inTransaction(db), box, log, agents: cluster?.link ?? registry, ...(cluster ? { bus: cluster.bus, busPeers: () => cluster.link.hasPeers() } : {}), now, baseUrl: () => baseUrl };
  // A download of an agent another replica holds streams from that replica over HTTP, never over the bus.
  const replicas = cluster ? { relay: new ReplicaDownloadClient((h) => cluster.link.holder(h), (r) => cluster.tokens.mint(r)), tokens: cluster.tokens } : undefined;
  const services = createServices(deps, { idleMs: config.sessionIdleMs, absoluteMs: config.sessionAbsoluteMs, passwordLogin: config.passwordLogin }, { ...opts.alerting, notifyAllowPrivate: config.notifyAllowPrivate }, opts.jobLogLimits, { maxBytes: config.downloadMaxBytes, ...(opts.downloadTimeouts ? { timeouts: opts.downloadTimeouts } : {}), ...(replicas ? { replicas } : {}) },
    { paths: { dataDir: config.dataDir, secretKeyFile: config.secretKeyFile, databaseUrl: config.databaseUrl } }, { leaseMs: config.slotLeaseMs });
  if (cluster) cluster.link.onKick = (hostId) => void services.jobs.dispatchPending(hostId).catch((e: unknown) => log.warn({ host_id: hostId, err: (e as Error).message }, 'cannot dispatch the queued jobs another replica asked for'));
  const oidc = config.oidc ? new OidcService(deps, services.auth, config.oidc) : null;
  if (oidc) {
    // Not fatal: password sign-in keeps working and the next SSO attempt retries discovery.
    await oidc.client.discover().then(
      () => log.info({ issuer: oidc.cfg.issuer, redirect_uri: oidc.cfg.redirectUri }, 'OIDC sign-in enabled'),
      () => log.warn({ issuer: oidc.cfg.issuer }, `OIDC provider ${oidc.cfg.issuer} is unreachable or misconfigured; SSO sign-in will retry discovery at each attempt`),
    );
  }
  const boot = await services.auth.bootstrapAdmin(config.adminPassword);
  if (boot.created) log.info({ username: 'admin', generated: boot.generated != null }, 'created the first admin user');

  const trusted = new CidrList(config.trustedProxies);
  const mountWeb = opts.mountWeb === undefined ? await loadWebModule(log) : (opts.mountWeb ?? undefined);
  const cookie = { secure: config.cookieSecure, absoluteMs: config.sessionAbsoluteMs };
  let draining = false;
  const { app, routes } = createApp({
    ready: async () => (draining ? 'shutting down' : readiness(db)),
    services, db, cookie, log, baseUrl: () => baseUrl, version: SERVER_VERSION, trustedProxies: trusted, signIn: { oidc, passwordLogin: config.passwordLogin },
    installDir: config.installDir ?? defaultInstallDir(), agentTarball: config.agentTarball ?? defaultAgentTarball(), metrics: m.handler(config.metricsToken, new CidrList(config.metricsAllow)), mountWeb,
  });
  const gateway = new AgentGateway(services.agentEvents, services.quarantine, registry, log, {
    agentTimeoutMs: config.agentTimeoutMs, helloTimeoutMs: opts.helloTimeoutMs ?? 10_000, now,
    ...(opts.agentFrameRate ? { frameRate: opts.agentFrameRate } : {}),
    ...(opts.minAgentProtocolVersion ? { minAgentProtocol: opts.minAgentProtocolVersion } : {}),
    upgradeUrl: () => `${baseUrl}/docs/upgrade`,
    onFrame: (msg, host) => {
      if (msg.type === 'job.started') m.jobStarted(msg.job_id);
      if (msg.type === 'job.finished') void m.observeDuration(msg.job_id, host.name).catch(() => undefined);
    },
  });
  const jobStream = new JobStream(services.auth, services.hub, repos.jobs, () => [new URL(baseUrl).origin], sessionCookieName(config.cookieSecure), services.tokens,
    (req) => clientIp(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'] as string | undefined, trusted), services.scope);

  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.listenHost }) as Server;
  server.on('clientError', answerClientError);
  // Idle keep-alive connections outlive the clients' own idle timeouts (undici: the server's hint
  // minus 1 s; reverse proxies: ~60 s), so a client never reuses a socket the server is closing
  // at that moment (an ECONNRESET on a request sent just then). Headers must still arrive sooner.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Hosts left 'online' by a previous run are marked offline only once the port is ours (a server
  // that fails to bind changes nothing); agent upgrades wait for it so a fresh hello is not undone.
  let resetDone!: () => void;
  let resetFailed!: () => void;
  const hostsReset = new Promise<void>((resolve, reject) => {
    resetDone = resolve;
    resetFailed = () => reject(new Error('start-up failed'));
  });
  hostsReset.catch(() => undefined); // a failed start with no upgrade waiting is not an unhandled rejection
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    hostsReset.then(() => upgrade(req, socket, head), () => socket.destroy());
  });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const ip = clientIp(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'] as string | undefined, trusted);
    const m = /^\/api\/jobs\/([^/]{1,64})\/stream$/.exec(url.pathname);
    if (url.pathname === '/api/agents/ws') void gateway.handleUpgrade(req, socket, head);
    else if (m?.[1]) void jobStream.handleUpgrade(req, socket, head, decodeURIComponent(m[1]));
    else {
      log.debug({ ip, path: url.pathname }, 'websocket upgrade to unknown path');
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  };
  // Other replicas stream this one's agents' downloads from it: it needs a URL they can reach.
  if (cluster && !config.clusterUrl && derivedClusterUrl(config.listenHost, 1) === null) {
    const others = await cluster.probe(Math.min(opts.cluster?.heartbeatMs ?? 5000, 2000));
    if (others > 0) {
      throw new ConfigError('RM_CLUSTER_URL', `${others} other server replica(s) share this database, and this one listens on every interface (${config.listenHost}), which names no address they could reach it at: set RM_CLUSTER_URL to this replica's URL for the others (e.g. http://10.0.0.5:8080), or listen on a concrete address`);
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listenPort, config.listenHost, () => resolve());
  });
  try {
    // Alone, every host left online by a previous run is offline now; with replicas, only those no replica holds.
    if (cluster) await cluster.start(repos, config.clusterUrl ?? derivedClusterUrl(config.listenHost, listeningPort(server, config.listenPort)));
    else await repos.hosts.markAllOffline();
  } catch (e) {
    resetFailed();
    server.close();
    server.closeAllConnections();
    throw e;
  }
  resetDone();
  const port = listeningPort(server, config.listenPort);
  const urlHost = config.listenHost === '0.0.0.0' || config.listenHost === '::' ? '127.0.0.1' : config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost;
  const url = `http://${urlHost}:${port}`;
  if (!config.baseUrl) baseUrl = url;
  log.info({ url, base_url: baseUrl }, 'restic-manager server listening');
  const exposure = metricsExposureWarning(config);
  if (exposure) log.warn({ event: 'metrics_exposed_behind_proxy' }, exposure);
  const purge = setInterval(() => void services.auth.purgeExpired().catch(() => undefined), 10 * 60_000).unref();
  // The periodic services: each ticks only where it holds its lease (docs/scale-out.md).
  const periodic = [services.maintenanceScheduler, services.copyScheduler, services.controlPlaneBackupScheduler, services.alertRules, services.trends, services.slots];
  for (const p of periodic) p.start();
  services.notifier.start();

  let closing: Promise<void> | undefined;
  return {
    url, port, config, generatedAdminPassword: boot.generated, services, db, log, routes,
    webRoutes: [...new Map(app.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/api/') && r.path !== '/api/openapi.json').map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }])).values()],
    agentsConnected: () => registry.connectedCount(),
    replicaId: cluster?.bus.replicaId ?? null,
    close() {
      closing ??= (async () => {
        draining = true;
        clearInterval(purge);
        for (const p of periodic) p.stop();
        services.restoreCredentials.stop();
        services.notifier.close();
        services.pings.close();
        const stopped = new Promise<void>((r) => server.close(() => r()));
        // With replicas, this one's agents are marked offline before their sockets close, so the hello
        // each sends to another replica a moment later (marking it online) is never undone.
        if (cluster) await repos.hosts.markOffline(registry.readyHostIds()).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'cannot mark this replica\'s agents offline'));
        registry.closeAll(CloseCode.goingAway, 'server shutting down');
        jobStream.close();
        await gateway.close();
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
        await stopped;
        await services.leases.releaseAll();
        // Alone, every host is offline now; with replicas, only this one's were (above).
        if (cluster) await cluster.close();
        else await repos.hosts.markAllOffline();
        await store.close();
        lock.release();
        log.info('server stopped');
      })();
      return closing;
    },
  };
}

function listeningPort(server: Server, configured: number): number {
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : configured;
}

async function loadWebModule(log: Logger): Promise<MountWeb | undefined> {
  const spec = './web/index.js';
  try {
    const mod = (await import(spec)) as { mountWeb?: MountWeb };
    return mod.mountWeb;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && !/Cannot find module|Failed to load url|does not exist/i.test((e as Error).message)) {
      log.error({ err: (e as Error).message }, 'web UI module failed to load; serving the API only');
    }
    return undefined;
  }
}
