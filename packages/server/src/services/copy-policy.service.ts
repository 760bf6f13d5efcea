import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import type { CopyPolicyView, CreateCopyPolicyRequest, UpdateCopyPolicyRequest } from '@restic-manager/protocol';
import { credentialSecrets } from '@restic-manager/protocol';
import type { CopyPolicyRow, CopyRunRow } from '../repositories/copy-policy.repository.js';
import type { JobRow } from '../repositories/job.repository.js';
import type { RepoRow } from '../repositories/repo.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { checkCopyPair, isOffsite } from './copy-rules.js';
import { DomainError, notFound } from './errors.js';
import type { JobService } from './job.service.js';
import { repositoryConfigOf } from './repository-config.js';

type PolicyFields = Pick<CopyPolicyRow, 'source_repository_id' | 'target_repository_id' | 'host_id' | 'mode' | 'cron_expr' | 'time_zone'>;

/** Told when a copy's outcome changed a host's 3-2-1 state (the copy alerts). */
export interface CopyOutcomeListener {
  hostChanged(hostId: string): Promise<void>;
}

/**
 * Copy policies (3-2-1, issue 15, docs/copies.md): CRUD, "run now", the copies queued after a
 * successful backup into a policy's source, and the per-host bookkeeping of each copy job's
 * outcome. A copy is a normal job of kind `copy` (JobService), so progress, cancel and the live
 * log come with it. Policies name repositories by id; no secret passes through this service
 * except a copy's error text, which is redacted of both repositories' secrets before it is kept.
 */
export class CopyPolicyService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly jobs: JobService,
    private readonly listener: CopyOutcomeListener,
  ) {}

  async list(limit: number, offset: number) {
    const { rows, total } = await this.d.repos.copies.list(limit, offset);
    const runs = await this.d.repos.copies.runsOf(rows.map((r) => r.id));
    const items: CopyPolicyView[] = [];
    for (const p of rows) items.push(await this.view(p, runs.filter((r) => r.policy_id === p.id)));
    return { items, total, limit, offset };
  }

  async get(id: string): Promise<CopyPolicyView> {
    const p = await this.row(id);
    return this.view(p, await this.d.repos.copies.runsOf([id]));
  }

  async create(actor: Actor, input: CreateCopyPolicyRequest): Promise<CopyPolicyView> {
    await this.validate(input);
    const now = iso(this.d.now());
    const row: CopyPolicyRow = {
      id: randomUUID(), source_repository_id: input.source_repository_id, target_repository_id: input.target_repository_id, host_id: input.host_id,
      mode: input.mode, cron_expr: input.cron_expr, time_zone: input.time_zone, enabled: input.enabled ? 1 : 0, created_at: now, updated_at: now,
    };
    await this.d.inTx(async (r) => {
      await r.copies.insert(row);
      await this.audit.record(actor, 'copy_policy.create', { kind: 'copy_policy', id: row.id }, describe(row), r.audit);
    });
    return this.get(row.id);
  }

  async update(actor: Actor, id: string, input: UpdateCopyPolicyRequest): Promise<CopyPolicyView> {
    const cur = await this.row(id);
    const next: CopyPolicyRow = {
      ...cur,
      ...(input.target_repository_id !== undefined ? { target_repository_id: input.target_repository_id } : {}),
      ...(input.host_id !== undefined ? { host_id: input.host_id } : {}),
      ...(input.mode !== undefined ? { mode: input.mode } : {}),
      ...(input.cron_expr !== undefined ? { cron_expr: input.cron_expr } : {}),
      ...(input.time_zone !== undefined ? { time_zone: input.time_zone } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled ? 1 : 0 } : {}),
    };
    // Switching to after_backup drops the cron unless one is given (which validate refuses).
    if (input.mode === 'after_backup' && input.cron_expr === undefined) next.cron_expr = null;
    await this.validate(next);
    const { id: _id, created_at: _c, ...patch } = { ...next, updated_at: iso(this.d.now()) };
    await this.d.inTx(async (r) => {
      await r.copies.update(id, patch);
      await this.audit.record(actor, 'copy_policy.update', { kind: 'copy_policy', id }, { from: describe(cur), to: describe(next) }, r.audit);
    });
    return this.get(id);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const cur = await this.row(id);
    await this.d.inTx(async (r) => {
      await r.copies.delete(id);
      await this.audit.record(actor, 'copy_policy.delete', { kind: 'copy_policy', id }, describe(cur), r.audit);
    });
    for (const h of await this.hostsOf(cur)) await this.listener.hostChanged(h);
  }

  /** Queues a copy now for one host of the policy (`hostId`) or every one of them; returns the job ids. */
  async run(actor: Actor, id: string, hostId?: string): Promise<{ job_ids: string[] }> {
    const p = await this.row(id);
    const hosts = await this.hostsOf(p);
    if (hostId && !hosts.includes(hostId)) throw new DomainError('validation_failed', 'host_id: that host is not covered by this policy', { host_id: 'not covered by this policy' });
    const targets = hostId ? [hostId] : hosts;
    if (targets.length === 0) throw new DomainError('invalid_state', 'no host is linked to the source repository: link one first', { source_repository_id: 'no linked host' });
    const ids: string[] = [];
    for (const h of targets) ids.push(await this.queue(actor, p, h));
    return { job_ids: ids };
  }

  /**
   * A job ended (JobService.onEnded): a successful backup queues the after_backup copies of its
   * repository for that host; a copy records its outcome for its policy and host.
   */
  async jobEnded(ended: JobRow): Promise<void> {
    const job = await this.d.repos.jobs.findById(ended.id);
    if (!job) return;
    if (job.kind === 'backup' && job.status === 'succeeded') await this.afterBackup(job);
    else if (job.kind === 'copy') await this.copyEnded(job);
  }

  /** Fires the schedule policies whose cron has a fire time in (since, now]; returns the job ids queued. */
  async fireDue(since: number, now: number): Promise<string[]> {
    const ids: string[] = [];
    for (const p of await this.d.repos.copies.all()) {
      if (p.enabled !== 1 || p.mode !== 'schedule' || !p.cron_expr) continue;
      const next = nextFire(p.cron_expr, p.time_zone, since);
      if (next === null || next > now) continue;
      for (const h of await this.hostsOf(p)) {
        const id = await this.tryQueue(p, h, 'scheduled copy');
        if (id) ids.push(id);
      }
    }
    return ids;
  }

  /** The hosts a policy copies for: its host, or every host linked to its source. */
  async hostsOf(p: Pick<CopyPolicyRow, 'host_id' | 'source_repository_id'>, r: Repositories = this.d.repos): Promise<string[]> {
    const links = (await r.repos.linksOfRepo(p.source_repository_id)).map((l) => l.host_id);
    return p.host_id ? links.filter((h) => h === p.host_id) : links;
  }

  private async afterBackup(job: JobRow): Promise<void> {
    const host = await this.d.repos.hosts.findById(job.host_id);
    const source = job.repository_id ?? host?.repo_id;
    if (!source) return;
    for (const p of await this.d.repos.copies.enabledFrom(source)) {
      if (p.mode !== 'after_backup' || (p.host_id && p.host_id !== job.host_id)) continue;
      await this.tryQueue(p, job.host_id, 'copy after backup');
    }
  }

  /** Queues unless a copy of this policy and host is still waiting to start (it will copy the new snapshots too). Never throws a DomainError. */
  private async tryQueue(p: CopyPolicyRow, hostId: string, what: string): Promise<string | null> {
    const run = await this.d.repos.copies.findRun(p.id, hostId);
    if (run?.last_job_id && (await this.d.repos.copies.isQueued(run.last_job_id))) {
      this.d.log.info({ policy_id: p.id, host_id: hostId, job_id: run.last_job_id }, `${what}: a copy is already queued; not queued again`);
      return null;
    }
    try {
      return await this.queue({ kind: 'system' }, p, hostId);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      this.d.log.warn({ policy_id: p.id, host_id: hostId, err: e.message }, `${what} not queued`);
      await this.d.repos.copies.saveRun(p.id, hostId, { last_copy_at: iso(this.d.now()), last_copy_status: 'failed', last_error: e.message.slice(0, 2000) });
      await this.listener.hostChanged(hostId);
      return null;
    }
  }

  /**
   * Until a copy of the policy has succeeded, the job also initialises the target with the
   * source's chunker parameters (`init_target`: restic `init --copy-chunker-params`, so
   * deduplication survives; an existing target is left as it is).
   */
  private async queue(actor: Actor, p: CopyPolicyRow, hostId: string): Promise<string> {
    const copied = (await this.d.repos.copies.runsOf([p.id])).some((r) => r.last_success_at !== null);
    // The snapshots the copy will consider, when the server's list knows them (the agent then counts none itself).
    const host = await this.d.repos.hosts.findById(hostId);
    const known = host?.hostname ? await this.d.repos.snapshots.countIn(hostId, p.source_repository_id, host.hostname) : 0;
    const args = { target_repository_id: p.target_repository_id, ...(copied ? {} : { init_target: true }), ...(known > 0 ? { source_snapshots: known } : {}) };
    const { job } = await this.jobs.runNow(actor, hostId, 'copy', args, {
      repositoryId: p.source_repository_id, auditExtra: { copy_policy_id: p.id },
      beforeDispatch: (j, r) => r.copies.saveRun(p.id, hostId, { last_job_id: j.id }),
    });
    return job.id;
  }

  private async copyEnded(job: JobRow): Promise<void> {
    const run = await this.d.repos.copies.findRunByJob(job.id);
    if (!run || !job.finished_at) return;
    const status = job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled' ? job.status : null;
    if (!status) return;
    const policy = await this.d.repos.copies.findById(run.policy_id);
    const error = status === 'succeeded' ? null : await this.redacted(job.error ?? job.error_kind ?? status, policy);
    await this.d.repos.copies.saveRun(run.policy_id, run.host_id, {
      last_copy_at: job.finished_at, last_copy_status: status, last_error: error,
      ...(status === 'succeeded' ? { last_success_at: job.finished_at } : {}),
    });
    await this.listener.hostChanged(run.host_id);
  }

  /** The agent's error text without either repository's secrets (defence in depth), at most 2000 characters. */
  private async redacted(text: string, p: CopyPolicyRow | undefined): Promise<string> {
    let out = text;
    for (const id of p ? [p.source_repository_id, p.target_repository_id] : []) {
      const cfg = await repositoryConfigOf(this.d.repos.repos, this.d.box, id);
      for (const s of cfg ? credentialSecrets(cfg.credentials, cfg.password) : []) if (s.length >= 4) out = out.split(s).join('[redacted]');
    }
    return out.slice(0, 2000);
  }

  /** Refusals name the field; nothing is written before they pass. */
  private async validate(p: PolicyFields): Promise<void> {
    const source = await this.repo(p.source_repository_id, 'source_repository_id');
    const target = await this.repo(p.target_repository_id, 'target_repository_id');
    checkCopyPair(source, target);
    if (p.mode === 'after_backup' && p.cron_expr) throw new DomainError('validation_failed', 'cron_expr: an after_backup policy runs after each backup and takes no cron', { cron_expr: 'not for after_backup' });
    if (p.mode === 'schedule') {
      if (!p.cron_expr) throw new DomainError('validation_failed', 'cron_expr: a schedule policy needs a cron expression', { cron_expr: 'required for schedule' });
      try {
        new Cron(p.cron_expr, { paused: true, timezone: p.time_zone });
      } catch (e) {
        throw new DomainError('validation_failed', `cron_expr: ${(e as Error).message}`, { cron_expr: (e as Error).message });
      }
    }
    if (p.host_id) {
      if (!(await this.d.repos.hosts.findById(p.host_id))) throw new DomainError('validation_failed', `host_id: no host ${p.host_id}`, { host_id: 'unknown host' });
      const links = await this.d.repos.repos.linksOfHost(p.host_id);
      if (!links.some((l) => l.repo_id === source.id)) throw new DomainError('validation_failed', 'host_id: the source repository is not linked to that host', { host_id: 'source not linked to this host' });
    }
  }

  private async repo(id: string, field: string): Promise<RepoRow> {
    const r = await this.d.repos.repos.findById(id);
    if (!r) throw new DomainError('validation_failed', `${field}: no repository ${id}`, { [field]: 'unknown repository' });
    return r;
  }

  private async row(id: string): Promise<CopyPolicyRow> {
    const p = await this.d.repos.copies.findById(id);
    if (!p) throw notFound('copy policy', id);
    return p;
  }

  private async view(p: CopyPolicyRow, runs: CopyRunRow[]): Promise<CopyPolicyView> {
    const [source, target] = await Promise.all([this.d.repos.repos.findById(p.source_repository_id), this.d.repos.repos.findById(p.target_repository_id)]);
    return {
      id: p.id, source_repository_id: p.source_repository_id, target_repository_id: p.target_repository_id, host_id: p.host_id,
      mode: p.mode, cron_expr: p.cron_expr, time_zone: p.time_zone, enabled: p.enabled === 1,
      offsite: !!source && !!target && isOffsite(source, target),
      runs: runs.map((r) => ({ host_id: r.host_id, last_copy_at: r.last_copy_at, last_copy_status: r.last_copy_status, last_success_at: r.last_success_at, last_error: r.last_error, last_job_id: r.last_job_id })),
      created_at: p.created_at, updated_at: p.updated_at,
    };
  }
}

/** The first fire time of `cron` after `since` (ms), or null. */
function nextFire(cron: string, tz: string, since: number): number | null {
  try {
    return new Cron(cron, { paused: true, timezone: tz }).nextRun(new Date(since))?.getTime() ?? null;
  } catch {
    return null;
  }
}

/** What the audit log records of a policy (ids and settings; it holds no secret). */
function describe(p: PolicyFields & { enabled: number }): Record<string, unknown> {
  return { source_repository_id: p.source_repository_id, target_repository_id: p.target_repository_id, host_id: p.host_id, mode: p.mode, cron_expr: p.cron_expr, time_zone: p.time_zone, enabled: p.enabled === 1 };
}
