import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Engine } from '@restic-manager/engines';
import type { RepositoryEngine, VaultIdentityStatus } from '@restic-manager/protocol';
import type { ServerFrame } from './wire.js';
import { createLogger } from './log.js';
import type { Logger } from './log.js';
import { AgentConnection } from './net/connection.js';
import type { ConnectionState } from './net/connection.js';
import { Reporter } from './net/reporter.js';
import { JobRunner, RECOVERY_SEQ } from './jobs/runner.js';
import { LocalScheduler } from './scheduler.js';
import { SlotGate } from './jobs/slot-gate.js';
import { RequestHandler } from './jobs/requests.js';
import { readAgentConfig } from './state/agent-config.js';
import type { AgentConfig } from './state/agent-config.js';
import { Outbox } from './state/outbox.js';
import { statePaths } from './state/paths.js';
import type { StatePaths } from './state/paths.js';
import { readSecrets, writeSecrets } from './state/secrets.js';
import { scheduleStore } from './state/schedule-store.js';
import type { RepoSecrets } from './state/secrets.js';
import { StateError } from './state/errors.js';
import { writeStatus } from './state/status.js';
import { loadEngine, vaultEngineInstalled } from './engine-loader.js';
import { sweepJobDirs } from './state/job-files.js';
import { agentVersion, resticVersion } from './version.js';
import { localTimeZone } from './timezone.js';
import { identityFilePath, identityStatus } from './jobs/vault-identity.js';

function wsPathOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

export interface AgentOptions {
  stateDir: string;
  /** Engine factory by name (a repository's `engine`, default restic); defaults to @restic-manager/engines, loaded lazily. */
  engine?: (name?: RepositoryEngine) => Promise<Engine>;
  log?: Logger;
  heartbeatMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Backoff after a 4008 rate_limited close (default 5 s doubling to 5 min). */
  rateLimitBackoff?: { initialMs: number; maxMs: number };
  /** Seconds a disconnected agent still reports healthy (default 300). */
  reconnectBudgetS?: number;
  killGraceMs?: number;
  progressIntervalMs?: number;
  wsPath?: string;
  /** How long a capped scheduled job waits for a slot while the server is unreachable before it runs anyway (RM_AGENT_SLOT_OFFLINE_WAIT_S; default 10 min). */
  slotOfflineWaitMs?: number;
  /** The clock of backup windows: when they open and when a `stop` window ends its job (default Date.now; tests shift it). */
  now?: () => number;
}

/**
 * The running agent: wires state, outbox, connection, job runner and local scheduler.
 * `start` throws StateError when agent.yaml is missing or corrupt (one clear message).
 */
export class Agent {
  private secrets: RepoSecrets | null = null;
  private readonly paths: StatePaths;
  private readonly cfg: AgentConfig;
  private readonly log: Logger;
  private readonly outbox: Outbox;
  private readonly reporter: Reporter;
  readonly runner: JobRunner;
  readonly scheduler: LocalScheduler;
  /** Capped scheduled jobs waiting for the server's slot.grant (issue 21). */
  readonly slots: SlotGate;
  readonly connection: AgentConnection;
  private readonly requests: RequestHandler;
  private resticVer: string | null = null;
  /** The vault drill identity's status (recipient or refusal), read at start; null = none configured. */
  private vaultIdentity: VaultIdentityStatus | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private connectedSince: string | null = null;
  private disconnectedSince: string | null = new Date().toISOString();
  private lastReason: string | null = null;
  /** Set when the server refused us; sticks through retries until a connection succeeds. */
  private refusal: string | null = null;

  private constructor(private readonly opts: AgentOptions) {
    this.paths = statePaths(opts.stateDir);
    this.log = opts.log ?? createLogger();
    this.cfg = readAgentConfig(this.paths.config);
    this.log.addSecret(this.cfg.bearer);
    try {
      this.secrets = readSecrets(this.paths.secrets, this.cfg.secrets_key);
    } catch (err) {
      if (!(err instanceof StateError)) throw err;
      this.log.error(err.message);
    }
    this.log.addSecret(this.secrets?.password);
    this.log.addSecret(this.secrets?.rest_password);
    this.outbox = new Outbox(this.paths.outbox);
    if (this.outbox.skippedOnLoad > 0) this.log.warn('dropped unreadable lines from the outbox journal', { count: this.outbox.skippedOnLoad });
    this.connection = new AgentConnection({
      serverUrl: this.cfg.server_url,
      bearer: this.cfg.bearer,
      ...(this.cfg.cert_pin_sha256 ? { certPin: this.cfg.cert_pin_sha256 } : {}),
      // The socket path announced at enrollment, on the origin the agent actually reached.
      ...(opts.wsPath ?? wsPathOf(this.cfg.ws_url) ? { wsPath: opts.wsPath ?? wsPathOf(this.cfg.ws_url)! } : {}),
      ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.rateLimitBackoff ? { rateLimitBackoff: opts.rateLimitBackoff } : {}),
      hello: () => ({
        agent_version: agentVersion(),
        restic_version: this.resticVer,
        hostname: os.hostname(),
        os: `${os.platform()} ${os.release()}`.slice(0, 64),
        arch: os.arch(),
        time_zone: localTimeZone(),
        ...(this.scheduler.appliedVersion() !== null ? { applied_schedule_version: this.scheduler.appliedVersion()! } : {}),
        active_job_ids: this.activeJobIds(),
        features: ['databases', 'db_restore', 'copy', 'restore_drill', 'stop_containers', 'stop_containers_labels', ...(vaultEngineInstalled() ? ['vault', 'vault_drill'] : [])],
        ...(this.vaultIdentity ? { vault_identity: this.vaultIdentity } : {}),
      }),
      heartbeat: () => ({ running_job_ids: this.runner.runningJobIds() }),
      onMessage: (m) => this.onMessage(m),
      onStateChange: (s, reason) => this.onState(s, reason),
      log: this.log,
    });
    this.reporter = new Reporter(this.outbox, this.connection, this.log);
    const emit = (f: Record<string, unknown>): void => this.reporter.report(f);
    const engine = opts.engine ?? ((name?: RepositoryEngine) => loadEngine(name ?? 'restic'));
    this.slots = new SlotGate({ log: this.log, ...(opts.slotOfflineWaitMs !== undefined ? { offlineWaitMs: opts.slotOfflineWaitMs } : {}) });
    this.runner = new JobRunner({
      slots: this.slots,
      engine,
      emit,
      secrets: () => this.secrets,
      repositories: () => this.secrets?.repositories ?? [],
      jobFilesDir: this.paths.jobFiles,
      drillsDir: this.paths.drills,
      checkRotationFile: this.paths.checkRotation,
      activeJobsFile: this.paths.activeJobs,
      stoppedContainersFile: this.paths.stoppedContainers,
      cacheDir: path.join(this.paths.dir, 'cache'),
      vaultDir: path.join(this.paths.dir, 'vault'),
      vaultIdentityFile: identityFilePath(this.cfg.vault_identity_file),
      log: this.log,
      ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}),
      ...(opts.progressIntervalMs !== undefined ? { progressIntervalMs: opts.progressIntervalMs } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.requests = new RequestHandler({
      engine,
      jobFilesDir: this.paths.jobFiles,
      secrets: () => this.secrets,
      repositories: () => this.secrets?.repositories ?? [],
      send: (f) => void this.connection.send(f),
      sendBinary: (f, written) => this.connection.sendBinary(f, written),
      log: this.log,
      cacheDir: path.join(this.paths.dir, 'cache'),
    });
    this.scheduler = new LocalScheduler({
      store: scheduleStore(this.paths.schedules, this.paths.legacySchedules, this.cfg.secrets_key, this.log),
      runsFile: this.paths.scheduleRuns,
      submit: (j) => this.runner.submit(j),
      busy: (id) => this.runner.hasScheduleJob(id),
      log: this.log,
      emit,
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const a = new Agent(opts);
    a.resticVer = await resticVersion();
    // A host trusted for vault drills: only the identity's public recipient (or why it is refused) is reported.
    const identityFile = identityFilePath(a.cfg.vault_identity_file);
    if (identityFile) {
      a.vaultIdentity = await identityStatus(identityFile);
      if (a.vaultIdentity.error) a.log.warn('the vault identity file is refused: vault drills cannot run here', { error: a.vaultIdentity.error });
      else a.log.info('vault identity present for vault drills', { recipient: a.vaultIdentity.recipient });
    }
    // Credential files of jobs a killed agent never finished (nothing runs yet).
    const swept = sweepJobDirs(a.paths.jobFiles);
    if (swept > 0) a.log.warn('removed credential files left by jobs of a previous agent run', { count: swept });
    // Scratch directories of restore drills a killed agent never finished.
    const drills = sweepJobDirs(a.paths.drills);
    if (drills > 0) a.log.warn('removed restore drill scratch directories left by a previous agent run', { count: drills });
    a.runner.recoverLostJobs();
    // Containers a killed agent stopped for a backup are started again before anything else runs.
    if (existsSync(a.paths.stoppedContainers)) {
      const { sweepStoppedContainers } = await import('./jobs/container-stop.js');
      await sweepStoppedContainers(a.paths.stoppedContainers, (text) => a.log.warn(text));
    }
    a.scheduler.loadPersisted();
    a.connection.start();
    a.writeStatus();
    a.statusTimer = setInterval(() => a.writeStatus(), Math.min(opts.heartbeatMs ?? 30_000, 30_000));
    a.statusTimer.unref();
    a.log.info('agent started', { version: agentVersion(), host_id: a.cfg.host_id, state_dir: a.paths.dir, server: a.cfg.server_url, credentials: a.secrets ? 'present' : 'not yet delivered' });
    return a;
  }

  /**
   * Jobs the server must not give up on: queued or running here, or whose `job.finished` is still
   * in the outbox (a job that finished while the server was down is replayed, not lost). A job
   * with only earlier reports pending (job.queued, progress) and not in the runner was lost to a
   * kill -9 of this agent: it is left out, so the server fails it as agent_lost instead of
   * keeping it queued forever (robustness harness, issue 22).
   */
  private activeJobIds(): string[] {
    const ids = new Set([...this.runner.activeJobIds(), ...this.scheduler.waits.jobIds()]);
    for (const e of this.outbox.pending()) if (e.frame.type === 'job.finished' && typeof e.frame.job_id === 'string') ids.add(e.frame.job_id);
    return [...ids].slice(0, 1000);
  }

  hostId(): string {
    return this.cfg.host_id;
  }

  hasCredentials(): boolean {
    return this.secrets !== null;
  }

  /** Stops scheduling, cancels running jobs, closes the socket and syncs the outbox. */
  async stop(): Promise<void> {
    this.scheduler.stop();
    await this.runner.shutdown();
    this.connection.stop();
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.writeStatus();
    this.outbox.close();
  }

  private onState(s: ConnectionState, reason?: string): void {
    if (s === 'refused') this.refusal = reason ?? 'refused by the server';
    if (s === 'ready') {
      this.refusal = null;
      this.connectedSince = new Date().toISOString();
      this.disconnectedSince = null;
      this.lastReason = null;
    } else if (this.connectedSince !== null || this.disconnectedSince === null) {
      this.connectedSince = null;
      this.disconnectedSince = new Date().toISOString();
    }
    if (reason) this.lastReason = reason;
    if (s !== 'ready') this.requests.stopDownloads();
    this.slots.setOnline(s === 'ready');
    this.writeStatus();
  }

  private writeStatus(): void {
    try {
      writeStatus(this.paths.status, {
        pid: process.pid,
        state: this.refusal && this.connection.getState() !== 'ready' ? 'refused' : this.connection.getState(),
        reason: this.refusal ?? this.lastReason,
        connected_since: this.connectedSince,
        disconnected_since: this.disconnectedSince,
        reconnect_budget_s: this.opts.reconnectBudgetS ?? 300,
        running_jobs: this.runner.runningJobIds().length,
        queued_reports: this.outbox.size(),
        updated_at: new Date().toISOString(),
      });
    } catch (err) {
      this.log.warn('cannot write the status file', { error: (err as Error).message });
    }
  }

  /** Runs database discovery (loaded on demand) and sends `databases.report`; failures are logged only. */
  private async reportDatabases(): Promise<void> {
    try {
      const { discoverDatabases } = await import('./dumps/discover.js');
      const socket = process.env.RM_AGENT_DOCKER_SOCKET;
      const d = await discoverDatabases(socket ? { dockerSocket: socket } : {});
      this.connection.send({ type: 'databases.report', discovered_at: new Date().toISOString(), local: d.local.slice(0, 64), containers: d.containers.slice(0, 500), docker_error: d.docker_error?.slice(0, 2048) ?? null, volumes: d.volumes.slice(0, 1000) });
    } catch (err) {
      this.log.warn('database discovery failed', { error: (err as Error).message });
    }
  }

  private onMessage(m: ServerFrame): void {
    switch (m.type) {
      case 'hello':
        this.reporter.resume(m.outbox_acks === true);
        if (m.databases_report && process.env.RM_AGENT_DISCOVER_DATABASES !== '0') void this.reportDatabases();
        return;
      case 'ack':
        this.reporter.acked(m.outbox_seq);
        return;
      case 'config.update': {
        const s: RepoSecrets = {
          repository: m.repository, password: m.password, ...(m.rest_username ? { rest_username: m.rest_username } : {}), ...(m.rest_password ? { rest_password: m.rest_password } : {}),
          // Their secrets are registered with the log when a job or test uses them (jobs/repo-access.ts): no zod while idle.
          ...(m.repositories ? { repositories: m.repositories } : {}),
        };
        this.log.addSecret(s.password);
        this.log.addSecret(s.rest_password);
        try {
          writeSecrets(this.paths.secrets, this.cfg.secrets_key, s);
        } catch (err) {
          this.log.error('cannot persist the repository credentials (kept in memory for now)', { error: (err as Error).message });
        }
        this.secrets = s;
        this.log.info('repository credentials updated', { repository: s.repository.replace(/\/\/[^@/]*@/, '//***@'), repositories: (s.repositories ?? []).map((r) => r.id) });
        return;
      }
      case 'command.run':
        this.runner.submit({
          jobId: m.job_id, kind: m.kind, args: m.args, ...(m.credential ? { credential: m.credential } : {}), ...(m.vault ? { vault: m.vault } : {}),
          ...(m.repository ? { repository: m.repository } : {}), ...(m.copy_target ? { copyTarget: m.copy_target } : {}),
          ...(m.stop_at ? { stopAt: Date.parse(m.stop_at) } : {}),
        });
        return;
      case 'command.unsupported':
        this.log.warn('refusing a job of a kind this agent does not know', { job_id: m.job_id, kind: m.kind });
        this.reporter.report({ type: 'job.finished', job_id: m.job_id, seq: 0, status: 'failed', exit_code: null, stats: null, error: `job kind '${m.kind}' is not supported by this agent (version ${agentVersion()}): upgrade the agent`, error_kind: 'failed', finished_at: new Date().toISOString() });
        return;
      case 'slot.grant':
        if (!this.slots.grant(m.job_id)) this.log.debug('slot.grant for a job not waiting here; ignored', { job_id: m.job_id });
        return;
      case 'command.cancel':
        if (!this.runner.cancel(m.job_id) && !this.scheduler.waits.cancel(m.job_id)) {
          this.log.warn('cancel for a job this agent does not have; reporting it cancelled', { job_id: m.job_id });
          this.reporter.report({ type: 'job.finished', job_id: m.job_id, seq: RECOVERY_SEQ, status: 'cancelled', exit_code: null, stats: null, error: 'the agent has no such job running (it may have ended already)', error_kind: 'cancelled', finished_at: new Date().toISOString() });
        }
        return;
      case 'schedule.set': {
        let version: number;
        try {
          version = this.scheduler.apply(m);
        } catch (err) {
          this.log.error('cannot apply the schedule; keeping the previous one', { error: (err as Error).message });
          return;
        }
        this.connection.send({ type: 'schedule.ack', schedule_version: version });
        return;
      }
      case 'agent.update.available':
        this.log.info('a newer agent is available; upgrade with your package manager', { version: m.version, url: m.url });
        return;
      case 'error':
        this.log.error('server error', { code: m.code, message: m.message });
        return;
      case 'snapshot.ls':
      case 'repo.key.add':
      case 'repo.key.remove':
      case 'snapshot.diff':
      case 'forget.preview':
      case 'repo.test':
        this.requests.handle(m);
        return;
      case 'download.start':
      case 'download.credit':
      case 'download.cancel':
        this.requests.download(m);
        return;
      default:
        // Compile-time check: every server → agent message of the protocol has a case above.
        return unhandled(m);
    }
  }
}

/** Only reachable for a frame type the switch lacks, which does not compile (`m` is `never` there). */
function unhandled(m: never): void {
  throw new Error(`no handler for server frame ${(m as { type?: string }).type ?? '?'}`);
}
