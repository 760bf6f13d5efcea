import { randomUUID } from 'node:crypto';
import type { CommandRun, JobCredential, JobKind, RepositoryConfig, VaultJobTarget } from '@restic-manager/protocol';
import { JOB_ARGS, hasLabelSelector, isVaultKind } from '@restic-manager/protocol';
import type { JobFilter, JobRow } from '../repositories/job.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { lastBackupPatch } from './backup-targets.js';
import { DomainError, notFound } from './errors.js';
import type { JobHub } from './job-hub.js';
import { jobView } from './views.js';
import { agentHasFeature, databasesRefusal } from './schedule-databases.js';
import { setOwn } from '../own-property.js';
import { checkCopyPair } from './copy-rules.js';

export interface RunOptions {
  jobId?: string;
  beforeDispatch?: (job: JobRow, r: Repositories) => Promise<void>;
  /** Extra fields of the job.run / job.restore audit row (never secrets). */
  auditExtra?: Record<string, unknown>;
  /** A repository linked to the host to run against instead of its primary (issue 15); 400 naming `repository_id` otherwise. */
  repositoryId?: string | undefined;
  /** The schedule that fired this job (server-fired restore drills). */
  scheduleId?: string;
  /** Set by RestoreDrillService only: a restore_drill job is always recorded as a drill (POST /api/hosts/:id/restore-drills). */
  drill?: boolean;
}

/** Hooks inside run-now arguments need admin, as in schedules (spec §14.3). */
const HOOK_KEYS = ['pre_hook', 'post_hook', 'run_as'];

/** What the job service asks of the services that know more about a job than it does. */
export interface JobCollaborators {
  /**
   * Refuses impossible forget/prune (returning a note when an unenforceable append-only flag is
   * ignored) and adds the §7.4 one-job maintenance credential.
   */
  maintenance: {
    precheck(hostId: string, kind: string): Promise<string | null>;
    credentialFor(job: JobRow, r: Repositories): Promise<JobCredential | undefined>;
    /** A non-primary repository's config with its maintenance credential for a forget/prune. */
    repositoryFor(job: JobRow, config: RepositoryConfig, r: Repositories): Promise<RepositoryConfig>;
  };
  /** The cross-host restore credential (§14.1) and its revocation when the job ends. */
  restoreCredentials: { credentialFor(job: JobRow, r: Repositories): Promise<JobCredential | undefined>; jobEnded(job: JobRow): Promise<void> };
  /** Refuses vault jobs without a target or a capable agent, and adds the target to command.run. */
  vaults: {
    precheck(hostId: string): Promise<void>; targetFor(hostId: string, r: Repositories): Promise<VaultJobTarget>;
    /** A vault_drill job's target: the drilled host's vault (its job runs on the trusted drill host). */
    drillTargetFor(jobId: string, r: Repositories): Promise<VaultJobTarget>;
  };
  /** The agent's view of a repository, credentials decrypted (command.run.repository); null = not usable. */
  repositories: { configOf(repoId: string, r: Repositories): Promise<RepositoryConfig | null> };
  /** Why a forget/prune must not run against a frozen repository (snapshot ledger, issue 16), or null. */
  ledger: { refusal(hostId: string, kind: string, repositoryId: string | null, r?: Repositories): Promise<string | null> };
  /** Concurrency caps (issue 21): false = the job waits in the server's queue for a slot (it is sent once granted). Absent = no caps. */
  slots?: { admit(job: JobRow, origin: 'server', r: Repositories): Promise<boolean> };
}

/** Run-now, restore, cancel and job queries. Dispatch goes through the AgentLink. */
export class JobService {
  private readonly endedListeners: ((job: JobRow) => Promise<void>)[] = [];
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly hub: JobHub,
    private readonly c: JobCollaborators,
  ) {}

  /**
   * Queues a job and sends it when the agent is online. `opts.jobId` fixes the id (a cross-host
   * restore prepares its credential first); `opts.beforeDispatch` runs in the same transaction,
   * after the insert and before command.run.
   */
  async runNow(actor: Actor, hostId: string, kind: JobKind, rawArgs: Record<string, unknown>, opts: RunOptions = {}) {
    const parsed = JOB_ARGS[kind].safeParse(rawArgs);
    if (!parsed.success) {
      const fields = Object.fromEntries(parsed.error.issues.map((i) => [['args', ...i.path].join('.'), i.message]));
      throw new DomainError('validation_failed', `invalid arguments for a ${kind} job`, fields);
    }
    const args = parsed.data as Record<string, unknown>;
    if ((kind === 'restore_drill' || kind === 'vault_drill') && !opts.drill) throw new DomainError('validation_failed', 'kind: a restore drill is started with POST /api/hosts/:id/restore-drills (or the host page\'s Drill now)', { kind: 'use /api/hosts/:id/restore-drills' });
    if (HOOK_KEYS.some((k) => args[k] != null) && !(actor.kind === 'user' && actor.role === 'admin')) {
      throw new DomainError('forbidden', 'only admins may set hooks or run_as');
    }
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    if (!host.agent_token_hash) throw new DomainError('invalid_state', `host ${host.name} is not enrolled yet`);
    const noDumps = Array.isArray(args.databases) ? databasesRefusal(host) : null;
    if (noDumps) throw new DomainError('invalid_state', noDumps, { 'args.databases': 'the agent cannot dump databases' });
    if (hasLabelSelector(args.stop_containers as string[] | undefined) && host.last_seen_at !== null && !agentHasFeature(host, 'stop_containers_labels')) {
      throw new DomainError('invalid_state', `the agent on ${host.name} (version ${host.agent_version ?? 'unknown'}) predates label selectors in stop_containers: upgrade it, or list container names`, { 'args.stop_containers': 'the agent cannot select containers by label' });
    }
    // An agent that said hello without 'copy' predates copy jobs (one that never connected is accepted).
    if (kind === 'copy' && host.last_seen_at !== null && !agentHasFeature(host, 'copy')) {
      throw new DomainError('invalid_state', `the agent on ${host.name} (version ${host.agent_version ?? 'unknown'}) predates copy jobs: upgrade it`, { host_id: 'the agent cannot copy' });
    }
    if (kind === 'restore_drill' && host.last_seen_at !== null && !agentHasFeature(host, 'restore_drill')) {
      throw new DomainError('invalid_state', `the agent on ${host.name} (version ${host.agent_version ?? 'unknown'}) predates restore drills: upgrade it`, { drill_host_id: 'the agent cannot run restore drills' });
    }
    const repositoryId = await this.targetRepository(host, kind, opts.repositoryId, args);
    const frozen = await this.c.ledger.refusal(hostId, kind, repositoryId);
    if (frozen) throw frozenError(frozen);
    // A repository several hosts back up into: this host's forget touches only its own snapshots.
    if (kind === 'forget' && !args.host && host.hostname && (await this.d.repos.repos.linksOfRepo(repositoryId ?? host.repo_id ?? '')).length > 1) args.host = host.hostname;
    let note: string | null = null;
    if (isVaultKind(kind)) await this.c.vaults.precheck(hostId);
    else if (!repositoryId) note = await this.c.maintenance.precheck(hostId, kind);
    const job: JobRow = {
      id: opts.jobId ?? randomUUID(), host_id: hostId, kind, status: 'queued', schedule_id: opts.scheduleId ?? null,
      actor_kind: opts.scheduleId ? 'schedule' : actor.kind === 'user' ? 'user' : 'system', actor_id: actor.kind === 'user' ? actor.id : null,
      args_enc: null, created_at: iso(this.d.now()), started_at: null, finished_at: null, exit_code: null,
      stats: null, error: null, error_kind: null, progress: null, progress_seq: null, dispatched_at: null, repository_id: repositoryId,
    };
    job.args_enc = this.d.box.sealJson(args, `job:${job.id}`);
    const dispatched = await this.d.inTx(async (r) => {
      await r.jobs.insert(job);
      await this.audit.record(actor, kind === 'restore' || kind === 'db_restore' ? 'job.restore' : 'job.run', { kind: 'job', id: job.id }, { host_id: hostId, kind, args: describeArgs(args), ...(repositoryId ? { repository_id: repositoryId } : {}), ...(note ? { note } : {}), ...opts.auditExtra }, r.audit);
      await opts.beforeDispatch?.(job, r);
      return this.dispatch(job, args, r);
    });
    if (note) this.d.log.warn({ host_id: hostId, job_id: job.id, kind }, note);
    return { job: jobView(job), dispatched };
  }

  /** Sends command.run for a queued job; false when the agent is offline (it stays queued). */
  async dispatch(job: JobRow, plainArgs?: Record<string, unknown>, r: Repositories = this.d.repos): Promise<boolean> {
    const args = plainArgs ?? (job.args_enc ? this.d.box.openJson<Record<string, unknown>>(job.args_enc, `job:${job.id}`) : {});
    const msg: CommandRun = { type: 'command.run', job_id: job.id, kind: job.kind as JobKind, args };
    if (!this.d.agents.isConnected(job.host_id)) {
      this.d.agents.unreached?.(job.host_id);
      return false;
    }
    // Backup windows (issue 21): a job held for its window is not sent before it opens; a `stop` window's end travels with it.
    const held = await r.windowWaits.find(job.id);
    if (held && Date.parse(held.start_at) > this.d.now()) return false;
    if (held?.stop_at) msg.stop_at = held.stop_at;
    // A job queued before its repository froze is never sent (dispatchPending fails it with the reason).
    const frozen = await this.c.ledger.refusal(job.host_id, job.kind, job.repository_id, r);
    if (frozen) throw frozenError(frozen);
    if (this.c.slots && !(await this.c.slots.admit(job, 'server', r))) return false;
    if (isVaultKind(job.kind)) {
      msg.vault = await this.c.vaults.targetFor(job.host_id, r);
    } else if (job.kind === 'vault_drill') {
      msg.vault = await this.c.vaults.drillTargetFor(job.id, r);
    } else {
      if (job.repository_id) {
        // A non-primary repository: its own config (with its maintenance credential for forget/prune; restore credentials are the primary's).
        const repository = await this.c.repositories.configOf(job.repository_id, r);
        if (!repository) throw new DomainError('invalid_state', 'the repository this job targets is gone or has no stored credentials');
        msg.repository = await this.c.maintenance.repositoryFor(job, repository, r);
        if (job.kind === 'copy') {
          const target = await this.c.repositories.configOf(String(args.target_repository_id), r);
          if (!target) throw new DomainError('invalid_state', 'the copy target repository is gone or has no stored credentials');
          msg.copy_target = target;
        }
      } else {
        const credential = (await this.c.maintenance.credentialFor(job, r)) ?? (await this.c.restoreCredentials.credentialFor(job, r));
        if (credential) msg.credential = credential;
      }
    }
    if (!this.d.agents.send(job.host_id, msg)) return false;
    job.dispatched_at = iso(this.d.now());
    await r.jobs.update(job.id, { dispatched_at: job.dispatched_at });
    await this.audit.record({ kind: 'system' }, 'agent.command.run', { kind: 'job', id: job.id }, { host_id: job.host_id, kind: job.kind }, r.audit);
    return true;
  }

  /**
   * The non-primary repository a job targets, or null (absent, the primary, or a vault job). A
   * copy job always records its source (the primary too), and its target must be a usable copy target.
   */
  private async targetRepository(host: { id: string; repo_id: string | null }, kind: JobKind, repoId: string | undefined, args: Record<string, unknown>): Promise<string | null> {
    if (kind === 'copy') return this.copySource(host, repoId ?? host.repo_id, String(args.target_repository_id));
    if (!repoId || repoId === host.repo_id) return null;
    if (isVaultKind(kind)) throw new DomainError('validation_failed', 'repository_id: vault jobs use the vault target', { repository_id: 'not for vault jobs' });
    const links = await this.d.repos.repos.linksOfHost(host.id);
    if (!links.some((l) => l.repo_id === repoId)) throw new DomainError('validation_failed', 'repository_id: that repository is not linked to this host', { repository_id: 'not linked to this host' });
    const repo = await this.d.repos.repos.findById(repoId);
    if ((kind === 'forget' || kind === 'prune') && repo?.append_only === 1 && repo.backend === 'rest' && !repo.maintenance_enc) {
      throw new DomainError('invalid_state', `${kind} on an append-only repository needs its maintenance credential: set it on the repository (PUT /api/repositories/${repoId}/maintenance-credential, admin) first`, { repository_id: 'append-only, no maintenance credential' });
    }
    return repoId;
  }

  /** A copy's source must be linked to the host; the pair must pass checkCopyPair (400 naming the field). */
  private async copySource(host: { id: string }, sourceId: string | null, targetId: string): Promise<string> {
    const links = await this.d.repos.repos.linksOfHost(host.id);
    const source = sourceId ? await this.d.repos.repos.findById(sourceId) : undefined;
    if (!source || !links.some((l) => l.repo_id === source.id)) throw new DomainError('validation_failed', 'repository_id: the source repository is not linked to this host', { repository_id: 'not linked to this host' });
    const target = await this.d.repos.repos.findById(targetId);
    if (!target) throw new DomainError('validation_failed', `args.target_repository_id: no repository ${targetId}`, { 'args.target_repository_id': 'unknown repository' });
    checkCopyPair(source, target);
    return source.id;
  }

  /** Dispatches every queued, not yet dispatched job of a host (called after its hello). */
  async dispatchPending(hostId: string): Promise<void> {
    for (const j of await this.d.repos.jobs.activeForHost(hostId)) {
      if (j.status !== 'queued' || j.dispatched_at) continue;
      await this.dispatchOrFail(j);
    }
  }

  /** Dispatches one queued job that was waiting for a concurrency slot (issue 21); a job already sent or ended is left alone. */
  async dispatchQueued(jobId: string): Promise<void> {
    const j = await this.d.repos.jobs.findById(jobId);
    if (j?.status === 'queued' && !j.dispatched_at) await this.dispatchOrFail(j);
  }

  private async dispatchOrFail(j: JobRow): Promise<void> {
    try {
      await this.dispatch(j);
    } catch (e) {
      // E.g. a cross-host restore whose source credential is gone: fail it, keep dispatching.
      if (!(e instanceof DomainError)) throw e;
      await this.finishLocally(j, 'failed', e.message, localFailureKind(e));
    }
  }

  /**
   * Tells `fn` about every job that reached a terminal state (agent report or server-side), after
   * its state is stored; `fn` reads what it needs from the store. Wired by the composition root.
   */
  onEnded(fn: (job: JobRow) => Promise<void>): void {
    this.endedListeners.push(fn);
  }

  /** After a job reached a terminal state (agent report or server-side): revoke its temporary credential, tell the listeners. Never throws. */
  ended(job: JobRow): void {
    for (const fn of this.endedListeners) void fn(job).catch((e: unknown) => this.d.log.error({ job_id: job.id, err: (e as Error).message }, 'job-ended listener failed'));
    if (job.kind !== 'restore' && job.kind !== 'restore_drill') return;
    void this.c.restoreCredentials.jobEnded(job).catch((e: unknown) => this.d.log.error({ job_id: job.id, err: (e as Error).message }, 'restore credential revocation failed'));
  }

  async cancel(actor: Actor, jobId: string) {
    const job = await this.d.repos.jobs.findById(jobId);
    if (!job) throw notFound('job', jobId);
    if (job.status !== 'queued' && job.status !== 'running') throw new DomainError('invalid_state', `job ${jobId} already ${job.status}`);
    await this.audit.record(actor, 'job.cancel', { kind: 'job', id: jobId }, { host_id: job.host_id });
    if (job.status === 'queued' && !job.dispatched_at) {
      await this.finishLocally(job, 'cancelled', 'cancelled before it was sent to the agent', 'cancelled');
      return { job: jobView((await this.d.repos.jobs.findById(jobId)) ?? job), sent: false };
    }
    const sent = this.d.agents.send(job.host_id, { type: 'command.cancel', job_id: jobId });
    if (sent) await this.audit.record({ kind: 'system' }, 'agent.command.cancel', { kind: 'job', id: jobId }, { host_id: job.host_id });
    if (!sent) throw new DomainError('invalid_state', 'the agent running this job is offline; it will be failed when the agent reconnects without it');
    return { job: jobView(job), sent };
  }

  /** Ends a job on the server's own authority (cancel before dispatch, agent lost it). */
  async finishLocally(job: JobRow, status: 'failed' | 'cancelled', error: string, errorKind: string): Promise<void> {
    const at = iso(this.d.now());
    const changed = await this.d.repos.jobs.transition(job.id, ['queued', 'running'], { status, finished_at: at, error, error_kind: errorKind });
    if (!changed) return;
    const host = await this.d.repos.hosts.findById(job.host_id);
    if (host?.current_job_id === job.id) await this.d.repos.hosts.update(job.host_id, { current_job_id: null });
    const last = lastBackupPatch(job.kind, at, status);
    if (last) await this.d.repos.hosts.update(job.host_id, last);
    this.hub.publish(syntheticFinished({ ...job, status, finished_at: at, error, error_kind: errorKind }));
    this.ended(job);
  }

  async list(filter: JobFilter, order: 'asc' | 'desc', limit: number, offset: number) {
    const { rows, total } = await this.d.repos.jobs.list(filter, order, limit, offset);
    return { items: rows.map(jobView), total, limit, offset };
  }

  async get(id: string) {
    const j = await this.d.repos.jobs.findById(id);
    if (!j) throw notFound('job', id);
    return jobView(j);
  }

  async logs(id: string, afterSeq: number, limit: number) {
    await this.get(id);
    const rows = await this.d.repos.jobs.logs(id, afterSeq, limit);
    return { items: rows, next_after_seq: rows.length ? (rows[rows.length - 1]?.seq ?? afterSeq) : afterSeq };
  }
}

const FROZEN = 'frozen: forget/prune refused until an admin acknowledges';

/** A forget/prune refused because its repository is frozen (snapshot ledger, issue 16): 409 naming `repository_id`. */
export function frozenError(message: string): DomainError {
  return new DomainError('invalid_state', message, { repository_id: FROZEN });
}

/** The error kind of a job the server fails before sending it: `failed` for a frozen repository, else `no_credentials`. */
export function localFailureKind(e: DomainError): 'failed' | 'no_credentials' {
  return e.fields?.repository_id === FROZEN ? 'failed' : 'no_credentials';
}

/** A job.finished frame built from the stored job (late subscribers, server-side endings). */
export function syntheticFinished(j: JobRow) {
  return {
    type: 'job.finished' as const,
    job_id: j.id,
    seq: 0,
    status: j.status,
    exit_code: j.exit_code,
    stats: j.stats ? (JSON.parse(j.stats) as Record<string, unknown>) : null,
    error: j.error,
    error_kind: j.error_kind,
    finished_at: j.finished_at ?? new Date(0).toISOString(),
    synthetic: true,
  };
}

/** What the audit log says about job arguments: shape, never hook bodies. */
function describeArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) setOwn(out, k, HOOK_KEYS.includes(k) && k !== 'run_as' ? v != null : v);
  if (Array.isArray(args.databases)) out.databases = args.databases.map((d) => describeDatabase(d as Record<string, unknown>));
  if (args.connection && typeof args.connection === 'object') out.connection = describeDatabase(args.connection as Record<string, unknown>);
  return out;
}

/** A database target without its password: `has_password` says whether one is set. */
export function describeDatabase(d: Record<string, unknown>): Record<string, unknown> {
  const { password, ...rest } = d;
  return { ...rest, has_password: typeof password === 'string' && password.length > 0 };
}
