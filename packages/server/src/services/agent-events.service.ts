import type {
  VaultSnapshotsReport,
  ForgetPreviewResult, SnapshotDiffResult,
  DownloadEnd, DownloadReady,
  AgentHello, DatabasesReport, JobFinished, JobProgress, JobQueued, JobStarted, LogStream, RepoKeyResult, RepoStats, RepoTestResultFrame, ScheduleAck, ServerMessage, SnapshotLsResult, SnapshotsReport,
} from '@restic-manager/protocol';
import { PROTOCOL_VERSION } from '@restic-manager/protocol';
import { hashToken } from '../crypto/tokens.js';
import type { ScheduleRow } from '../repositories/schedule.repository.js';
import type { HostRow } from '../repositories/host.repository.js';
import type { JobRow } from '../repositories/job.repository.js';
import type { AlertRulesService } from './alert-rules.service.js';
import type { AgentRequests } from './agent-requests.js';
import type { AuditService } from './audit.service.js';
import type { SlotService } from './slot.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError } from './errors.js';
import type { AgentJobRate } from './agent-job-limits.js';
import { AGENT_JOB_LIMITS } from './agent-job-limits.js';
import { lastBackupPatch } from './backup-targets.js';
import { encodeLocks, lockStateOf, lockViews } from './repo-locks.js';
import type { JobLogQuota } from './job-log-quota.js';
import type { HostService } from './host.service.js';
import type { JobHub } from './job-hub.js';
import type { JobService } from './job.service.js';
import type { ScheduleService } from './schedule.service.js';
import type { TrendService } from './trends.js';
import type { VaultService } from './vault.service.js';
import type { SnapshotLedgerService } from './snapshot-ledger.service.js';
import type { DownloadService } from './download.service.js';
import { SERVER_VERSION } from '../version.js';

const PROGRESS_PERSIST_MS = 1000;

/** Where agent reports go besides the job and host tables. */
export interface AgentEventCollaborators {
  /** Alert triggers fed by agent frames (backup_failed, check_failed, repo_growth, agent_offline resolution). */
  rules: AlertRulesService;
  /** Answers to request frames (snapshot.ls, repo.key.*). */
  requests: AgentRequests;
  /** Work owed to a host once it says hello (the restore-key revocations it missed). */
  onHello: (hostId: string) => Promise<void>;
  /** Records repo.stats and backup figures as trend points. */
  trends: TrendService;
  /** Stores vault.snapshots.report. */
  vaults: VaultService;
  /** Bounds on the jobs an agent may create under its schedules (count and rate). */
  jobRate: AgentJobRate;
  /** Per-job log quota (lines and bytes, then one marker). */
  logQuota: JobLogQuota;
  /** The snapshot ledger: listings and key ids compared with the previous ones (issue 16). */
  ledger: SnapshotLedgerService;
  /** Open downloads: the agent's download frames and chunks (docs/protocol.md "Downloads"). */
  downloads: DownloadService;
  /** Issue 21: a job started (its schedule's Healthchecks-style start ping). Never throws. */
  jobStarted?: (jobId: string) => void;
  /** Concurrency slots (issue 21): scheduled jobs the agent holds until `slot.grant`. Absent = no caps. */
  slots?: SlotService;
}

/**
 * Applies agent -> server frames (spec §6.2) to the store. Every job event is idempotent by
 * (job_id, seq): a replay after reconnect is recognised and ignored. Frames about a job that
 * belongs to another host raise DomainError('forbidden') and write nothing.
 */
export class AgentEventsService {
  private readonly lastProgressWrite = new Map<string, number>();
  /**
   * Jobs sent again after a reconnect without them (a command lost in flight): at most once per
   * job and server process, so a command that kills the agent on receipt is not sent forever.
   */
  private readonly resent = new Set<string>();
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly hub: JobHub,
    private readonly hosts: HostService,
    private readonly jobs: JobService,
    private readonly schedules: ScheduleService,
    private readonly c: AgentEventCollaborators,
  ) {}

  /** The host a bearer belongs to; null for unknown or revoked bearers. */
  authenticate(bearer: string): Promise<HostRow | undefined> {
    return this.d.repos.hosts.findByTokenHash(hashToken(bearer));
  }

  /**
   * Handles `hello`: records versions, marks the host online, fails jobs the agent lost (a queued
   * job sent but never started there is sent again once instead), and
   * returns the frames to send in order (server hello, config.update, schedule.set).
   * Call `afterHello` once they are sent, to dispatch queued jobs.
   */
  async hello(host: HostRow, h: AgentHello): Promise<ServerMessage[]> {
    const now = iso(this.d.now());
    await this.d.repos.hosts.update(host.id, {
      hostname: h.hostname, os: h.os, arch: h.arch, agent_version: h.agent_version, restic_version: h.restic_version,
      // An agent that cannot find restic is connected but cannot run jobs: degraded.
      protocol_version: h.protocol_version, last_seen_at: now, status: h.restic_version ? 'online' : 'degraded',
      ...(h.applied_schedule_version !== undefined ? { applied_schedule_version: h.applied_schedule_version } : {}),
      agent_features: h.features ? JSON.stringify(h.features) : null,
    });
    // Vault drills: only whether the agent holds an identity, and its public recipient (never a secret).
    if (h.vault_identity || (await this.d.repos.vaultDrillHosts.find(host.id))) await this.d.repos.vaultDrillHosts.reported(host.id, h.vault_identity ?? null, now);
    const active = new Set(h.active_job_ids);
    for (const j of await this.d.repos.jobs.activeForHost(host.id)) {
      if (active.has(j.id) || (j.status !== 'running' && !j.dispatched_at)) continue;
      if (j.status === 'queued' && !this.resent.has(j.id)) {
        // Sent but never started there: the command was lost in flight (the agent saves a job before
        // it reports or runs it, and reports every saved job it lost). Sent again once, after this hello.
        this.resent.add(j.id);
        await this.d.repos.jobs.update(j.id, { dispatched_at: null });
        this.d.log.warn({ job_id: j.id, host_id: host.id }, 'the agent reconnected without a dispatched job that never started; sending it again');
        continue;
      }
      const why = j.status === 'queued'
        ? 'the agent reconnected twice without this job (it was sent again once and lost again)'
        : 'the agent reconnected without this job (it restarted or lost it mid-run)';
      await this.jobs.finishLocally(j, 'failed', why, 'agent_lost');
      this.d.log.warn({ job_id: j.id, host_id: host.id }, 'job lost by agent');
    }
    const out: ServerMessage[] = [{ type: 'hello', protocol_version: PROTOCOL_VERSION, server_version: SERVER_VERSION, host_id: host.id }];
    const cfg = await this.hosts.configFor(host.id);
    if (cfg) out.push(cfg);
    out.push(await this.schedules.scheduleSet(host.id));
    await this.c.rules.agentOnline(host.id);
    return out;
  }

  /** After the hello frames went out: audit them and dispatch queued jobs. */
  async afterHello(host: HostRow, sent: ServerMessage[]): Promise<void> {
    const actor: Actor = { kind: 'system' };
    await this.d.inTx(async (r) => {
      for (const m of sent) {
        if (m.type === 'config.update') await this.audit.record(actor, 'agent.command.config.update', { kind: 'host', id: host.id }, { credentials_pushed: true }, r.audit);
        if (m.type === 'schedule.set') await this.audit.record(actor, 'agent.command.schedule.set', { kind: 'host', id: host.id }, { schedule_version: m.schedule_version, schedules: m.schedules.length }, r.audit);
      }
    });
    await this.jobs.dispatchPending(host.id);
    void this.c.onHello(host.id).catch((e: unknown) => this.d.log.error({ host_id: host.id, err: (e as Error).message }, 'after-hello task failed'));
  }

  async disconnected(hostId: string): Promise<void> {
    this.c.requests.hostGone(hostId);
    this.c.downloads.hostGone(hostId);
    await this.d.repos.hosts.update(hostId, { status: 'offline' });
  }

  /** `snapshot.ls.result` / `repo.key.result` / `repo.test.result`: hands the answer to the waiting request; a stray answer is dropped. */
  requestResult(host: HostRow, f: SnapshotLsResult | RepoKeyResult | RepoTestResultFrame | SnapshotDiffResult | ForgetPreviewResult): void {
    if (!this.c.requests.answer(host.id, f)) this.d.log.warn({ host_id: host.id, type: f.type }, 'answer to no open request (late or unknown); dropped');
  }

  /** `download.ready` / `download.end`: handed to the open download; a stray one is ignored. */
  download(host: HostRow, f: DownloadReady | DownloadEnd): void {
    if (f.type === 'download.ready') this.c.downloads.ready(host.id, f);
    else this.c.downloads.ended(host.id, f);
  }

  /** A binary frame (a download chunk): null when taken, else what was wrong with it. */
  downloadChunk(hostId: string, frame: Buffer): string | null {
    return this.c.downloads.chunk(hostId, frame);
  }

  async jobQueued(host: HostRow, f: JobQueued): Promise<void> {
    await this.d.inTx(async (r) => {
      await this.ownJob(r, host, f.job_id, f.kind, f.schedule_id, 'queued', f.queued_at);
      await r.jobs.claimEvent(f.job_id, f.seq, f.type);
    });
    if (f.awaiting_slot && this.c.slots) await this.slotFor(host, f.job_id, this.c.slots);
  }

  /** A capped scheduled job asks for its slot (again after a reconnect): granted at once, or queued until SlotService grants it. */
  private async slotFor(host: HostRow, jobId: string, slots: SlotService): Promise<void> {
    const job = await this.d.repos.jobs.findById(jobId);
    if (job?.status !== 'queued') return;
    if (await slots.admit(job, 'agent')) slots.regrant(host.id, jobId);
  }

  async jobStarted(host: HostRow, f: JobStarted): Promise<void> {
    const fresh = await this.d.inTx(async (r) => {
      await this.ownJob(r, host, f.job_id, f.kind, f.schedule_id, 'running', f.started_at);
      if (!(await r.jobs.claimEvent(f.job_id, f.seq, f.type))) return false;
      await r.jobs.transition(f.job_id, ['queued'], { status: 'running', started_at: f.started_at, dispatched_at: f.started_at });
      await r.hosts.update(host.id, { current_job_id: f.job_id });
      return true;
    });
    if (fresh) this.hub.publish(f);
    if (fresh) this.c.jobStarted?.(f.job_id);
    if (fresh) await this.c.slots?.started(f.job_id);
  }

  async jobProgress(host: HostRow, f: JobProgress): Promise<void> {
    const job = await this.requireJob(host, f.job_id);
    if (job.status !== 'running' && job.status !== 'queued') return;
    const now = this.d.now();
    if ((job.progress_seq ?? -1) < f.seq && now - (this.lastProgressWrite.get(f.job_id) ?? 0) >= PROGRESS_PERSIST_MS) {
      this.lastProgressWrite.set(f.job_id, now);
      const { type: _t, job_id: _j, ...progress } = f;
      await this.d.repos.jobs.update(f.job_id, { progress: JSON.stringify(progress), progress_seq: f.seq });
    }
    this.hub.publish(f);
  }

  /**
   * Stores a log line of a queued or running job, within the per-job quota (JobLogQuota: past
   * it, one marker line, then nothing). Lines of a job that already ended are dropped (logged
   * once per job), never an error frame: a flood must not be answered frame for frame.
   */
  async logStream(host: HostRow, f: LogStream): Promise<void> {
    const job = await this.requireJob(host, f.job_id);
    if (job.status !== 'queued' && job.status !== 'running') {
      if (this.c.logQuota.late(f.job_id)) this.d.log.warn({ host_id: host.id, job_id: f.job_id, status: job.status }, 'log line for a job that already ended; dropped (and any more)');
      return;
    }
    const verdict = await this.c.logQuota.admit(f.job_id, f.seq, f.payload);
    if (verdict.kind === 'drop') return;
    const line = verdict.kind === 'marker' ? { ...f, stream: 'event' as const, payload: verdict.payload } : f;
    if (verdict.kind === 'marker') this.d.log.warn({ host_id: host.id, job_id: f.job_id }, 'job log quota reached; later lines are dropped');
    if (await this.d.repos.jobs.insertLog({ job_id: line.job_id, seq: line.seq, ts: line.ts, stream: line.stream, payload: line.payload })) {
      if (verdict.kind === 'store') this.c.logQuota.stored(f.job_id, f.payload);
      this.hub.publish(line);
    }
  }

  async jobFinished(host: HostRow, f: JobFinished): Promise<void> {
    const job = await this.requireJob(host, f.job_id);
    this.lastProgressWrite.delete(f.job_id);
    this.resent.delete(f.job_id);
    const changed = await this.d.inTx(async (r) => {
      if (!(await r.jobs.claimEvent(f.job_id, f.seq, f.type))) return false;
      return r.jobs.transition(f.job_id, ['queued', 'running'], {
        status: f.status, finished_at: f.finished_at, exit_code: f.exit_code, stats: f.stats ? JSON.stringify(f.stats) : null,
        error: f.error, error_kind: f.error_kind, started_at: job.started_at ?? f.finished_at,
      });
    });
    const truncated = this.c.logQuota.finish(f.job_id);
    if (truncated) {
      await this.d.repos.jobs.updateLogPayload(f.job_id, truncated.seq, truncated.payload);
      this.d.log.warn({ host_id: host.id, job_id: f.job_id, dropped_lines: truncated.dropped }, 'job log was truncated');
    }
    if (!changed) return;
    this.jobs.ended(job);
    const fresh = await this.d.repos.hosts.findById(host.id);
    const patch: Parameters<typeof this.d.repos.hosts.update>[1] = {};
    if (fresh?.current_job_id === f.job_id) patch.current_job_id = null;
    Object.assign(patch, lastBackupPatch(job.kind, f.finished_at, f.status));
    if ((job.kind === 'backup' || job.kind === 'init') && f.status === 'succeeded' && !fresh?.repo_initialised_at) patch.repo_initialised_at = f.finished_at;
    await this.d.repos.hosts.update(host.id, patch); // an empty patch changes nothing
    await this.c.rules.jobFinished(host.id, job, f);
    await this.trend(() => this.c.trends.recordBackup(job, f));
    this.hub.publish(f);
  }

  async snapshotsReport(host: HostRow, f: SnapshotsReport): Promise<void> {
    const fresh = await this.d.repos.hosts.findById(host.id);
    const repoId = fresh?.repo_id ?? null;
    await this.d.repos.snapshots.replaceForHost(host.id, f.snapshots.map((s) => ({
      id: s.id, host_id: host.id, repo_id: repoId, short_id: s.short_id ?? s.id.slice(0, 8), time: s.time, hostname: s.hostname,
      paths: JSON.stringify(s.paths), tags: JSON.stringify(s.tags), size_bytes: s.size_bytes ?? null, file_count: s.file_count ?? null,
    })));
    const patch: Parameters<typeof this.d.repos.hosts.update>[1] = { snapshot_count: f.snapshots.length };
    if (f.snapshots.length > 0 && !fresh?.repo_initialised_at) patch.repo_initialised_at = iso(this.d.now());
    await this.d.repos.hosts.update(host.id, patch);
    if (repoId) await this.d.repos.repos.update(repoId, { snapshot_count: f.snapshots.length });
    const origin = await this.c.ledger.originOf(host, f.job_id);
    if (origin) await this.c.ledger.snapshotsReported(origin, f.snapshots);
  }

  async repoStats(host: HostRow, f: RepoStats): Promise<void> {
    const fresh = await this.d.repos.hosts.findById(host.id);
    // The host's projection and its repository row change together: a reader never sees one without the other.
    await this.d.inTx(async (r) => {
      // A check, an unlock or a failed lock listing reports no figure: the patches may be empty.
      await r.hosts.update(host.id, {
        ...(f.size_bytes != null ? { repo_size_bytes: f.size_bytes } : {}),
        ...(f.snapshot_count != null ? { snapshot_count: f.snapshot_count } : {}),
      });
      if (!fresh?.repo_id) return;
      await r.repos.update(fresh.repo_id, {
        ...(f.size_bytes != null ? { size_bytes: f.size_bytes } : {}),
        ...(f.snapshot_count != null ? { snapshot_count: f.snapshot_count } : {}),
        ...(f.dedup_ratio != null ? { dedup_ratio: f.dedup_ratio } : {}),
        ...(f.last_check_at != null ? { last_check_at: f.last_check_at } : {}),
        ...(f.last_check_status != null ? { last_check_status: f.last_check_status } : {}),
        // A bare state (a lock-free engine, or a listing that failed) replaces an older listing.
        ...(f.lock_state != null ? { lock_state: f.lock_state, locks: null } : {}),
        ...(f.locks ? { locks: encodeLocks(f.locks, iso(this.d.now())), lock_state: lockStateOf(lockViews({ listed_at: null, items: f.locks }, this.d.now())) } : {}),
      });
    });
    if (f.key_ids || f.config_id) {
      const origin = await this.c.ledger.originOf(host, f.job_id);
      if (origin) await this.c.ledger.keysReported(origin, f.key_ids, f.config_id);
    }
    await this.c.rules.repoStats(host.id, fresh?.repo_size_bytes ?? null, f);
    await this.trend(() => this.c.trends.recordRepoStats(host.id, f));
  }

  /** The agent's database discovery: the latest report replaces the previous one. */
  async databasesReport(host: HostRow, f: DatabasesReport): Promise<void> {
    const { type: _type, ...report } = f;
    await this.d.repos.hosts.update(host.id, { discovered_databases: JSON.stringify(report) });
  }

  /** The vault's committed snapshots after a vault job (replaces the previous list). */
  async vaultSnapshotsReport(host: HostRow, f: VaultSnapshotsReport): Promise<void> {
    await this.c.vaults.snapshotsReported(host.id, f.snapshots);
  }

  async scheduleAck(host: HostRow, f: ScheduleAck): Promise<void> {
    await this.d.repos.hosts.update(host.id, { applied_schedule_version: f.schedule_version });
  }

  /** Sends agent.update.available (informational; the agent never self-updates). */
  notifyUpdate(hostId: string, version: string, url: string): boolean {
    return this.d.agents.send(hostId, { type: 'agent.update.available', version, url });
  }

  /** Heartbeats are batched by the gateway; this writes last_seen_at for many hosts at once. */
  touch(hostIds: string[]): Promise<void> {
    return this.d.repos.hosts.touchMany(hostIds, iso(this.d.now()));
  }

  /** A trend write that fails is logged, never fails the frame (the projections are already stored). */
  private async trend(fn: () => Promise<void> | undefined): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.d.log.error({ err: (e as Error).message }, 'recording a trend point failed');
    }
  }

  private async requireJob(host: HostRow, jobId: string): Promise<JobRow> {
    const job = await this.d.repos.jobs.findById(jobId);
    if (!job) throw new DomainError('not_found', `job ${jobId} is unknown to the server`);
    if (job.host_id !== host.id) throw new DomainError('forbidden', `job ${jobId} belongs to another host`);
    return job;
  }

  /**
   * Checks the job belongs to the host; creates it when the agent's own scheduler started it
   * (schedule_id set, job unknown). Throws not_found for an unknown job without schedule_id,
   * forbidden for another host's job or a schedule that is not this host's, and rate_limited
   * beyond AGENT_JOB_LIMITS; inside a group-commit unit, so the throw writes nothing.
   */
  private async ownJob(r: Repositories, host: HostRow, jobId: string, kind: string, scheduleId: string | undefined, status: 'queued' | 'running', at: string): Promise<void> {
    const job = await r.jobs.findById(jobId);
    if (job) {
      if (job.host_id !== host.id) throw new DomainError('forbidden', `job ${jobId} belongs to another host`);
      return;
    }
    if (!scheduleId) throw new DomainError('not_found', `job ${jobId} is unknown to the server and has no schedule_id`);
    const schedule = await this.mayCreate(r, host, jobId, kind, scheduleId);
    // Created queued; the caller's transition to running happens in the same transaction.
    await r.jobs.insert({
      id: jobId, host_id: host.id, kind, status: 'queued', schedule_id: scheduleId, actor_kind: 'schedule', actor_id: scheduleId,
      args_enc: null, created_at: at, started_at: null, finished_at: null, exit_code: null, stats: null, error: null,
      error_kind: null, progress: null, progress_seq: null, dispatched_at: status === 'running' ? at : null,
      // The repository the schedule targets (issue 15; null = the primary).
      repository_id: schedule.repository_id,
    });
    await this.audit.record({ kind: 'agent', hostId: host.id, name: host.name }, 'job.scheduled', { kind: 'job', id: jobId }, { schedule_id: scheduleId, kind }, r.audit);
  }

  /** An agent creates jobs only under its own host's schedules, of the schedule's kind, and a bounded number of them. */
  private async mayCreate(r: Repositories, host: HostRow, jobId: string, kind: string, scheduleId: string): Promise<ScheduleRow> {
    const refuse = (code: 'forbidden' | 'rate_limited', why: string, message: string): DomainError => {
      this.d.log.warn({ host_id: host.id, job_id: jobId, schedule_id: scheduleId }, `agent job refused: ${why}`);
      return new DomainError(code, message);
    };
    const schedule = await r.schedules.findById(scheduleId);
    if (schedule?.host_id !== host.id) throw refuse('forbidden', "schedule is not this host's", `schedule ${scheduleId} does not belong to this host; job ${jobId} was not created`);
    if (schedule.kind !== kind) throw refuse('forbidden', 'job kind differs from the schedule kind', `schedule ${scheduleId} runs ${schedule.kind} jobs, not ${kind}; job ${jobId} was not created`);
    const active = await r.jobs.countActiveScheduled(host.id);
    if (active >= AGENT_JOB_LIMITS.maxActivePerHost) {
      throw refuse('rate_limited', 'too many active jobs', `${AGENT_JOB_LIMITS.maxActivePerHost} jobs of this host are already queued or running; job ${jobId} was not created`);
    }
    if (!this.c.jobRate.take(host.id)) {
      const perHour = Math.round(3_600_000 / AGENT_JOB_LIMITS.refillEveryMs);
      throw refuse('rate_limited', 'job creation rate exceeded', `this host created more than ${AGENT_JOB_LIMITS.createBurst} jobs at once (${perHour} an hour are refilled); job ${jobId} was not created`);
    }
    return schedule;
  }
}
