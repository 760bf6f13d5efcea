import type { JobCredential, RepoKeyRemove } from '@restic-manager/protocol';
import type { JobRow } from '../repositories/job.repository.js';
import type { AgentRequests } from './agent-requests.js';
import type { AuditService } from './audit.service.js';
import type { Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError } from './errors.js';
import type { HostService } from './host.service.js';
import type { MaintenanceService } from './maintenance.service.js';
import type { SharedSecret } from './restore-credential-plan.js';
import { describeShares, sameRestLogin } from './restore-credential-plan.js';

/** How long the server waits for the source agent to add or remove the temporary key. */
export const KEY_TIMEOUT_MS = 30_000;
/**
 * A removal that failed with the source host online (its repository locked by a long job, the
 * agent too slow to answer) is tried again after this long, then 4x and 16x as long: a temporary
 * key must not outlive its job because one `key remove` met a lock.
 */
export const REVOKE_RETRY_MS = 10_000;
export const REVOKE_RETRIES = 3;

/**
 * The life of a cross-host restore's one-job credential after the restore was submitted: what
 * the TARGET agent receives in command.run (a temporary key, or a stored credential only as an
 * admin's audited one-off), and its revocation when the job ends (retried when the source host
 * comes back). The job service calls it at dispatch and at the end of a job; it never starts jobs
 * itself, so it sits below JobService and RestoreService (docs/decisions/0008-cross-host-restore.md).
 */
export class RestoreCredentials {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly hosts: HostService,
    private readonly requests: AgentRequests,
    private readonly maintenance: MaintenanceService,
    /** Shared with RestoreService (tests shorten it). */
    readonly timing: { keyTimeoutMs: number; revokeRetryMs?: number } = { keyTimeoutMs: KEY_TIMEOUT_MS },
  ) {}

  /** Failed removals waiting to be tried again (job id -> attempts so far, and the timer). */
  private readonly retries = new Map<string, { attempts: number; timer: NodeJS.Timeout | null }>();

  private get creds() {
    return this.d.repos.restoreCredentials;
  }

  /** JobService.dispatch hook: the one-job credential of a cross-host restore, else undefined. */
  async credentialFor(job: JobRow, r: Repositories): Promise<JobCredential | undefined> {
    if (job.kind !== 'restore' && job.kind !== 'restore_drill') return undefined;
    // `r` may be bound to the caller's transaction: every read goes through it.
    const row = await r.restoreCredentials.findByJob(job.id);
    if (!row) return undefined;
    const source = await r.hosts.findById(row.source_host_id);
    const cfg = await this.hosts.configFor(row.source_host_id, r);
    if (!cfg || !source) throw new DomainError('invalid_state', 'the source host of this restore has no stored repository credential any more');
    if (row.revoked_at) throw new DomainError('invalid_state', 'the temporary credential of this restore was already revoked');
    const temp = row.mode === 'temporary_key' && row.secret_enc ? this.d.box.open(row.secret_enc, `restore:${job.id}`) : null;
    const shared = new Set((row.shared ?? '').split(',').filter(Boolean));
    // Never a permanent secret of another host unless an admin confirmed this job's one-off.
    if (!temp && !shared.has('repository_password')) throw new DomainError('invalid_state', `refused: no temporary key of host ${source.name}'s repository is available for this restore, and its permanent password is not sent to another host`);
    const restOk = !cfg.rest_username || shared.has('rest_login') || sameRestLogin(cfg, await this.hosts.configFor(row.target_host_id, r));
    if (!restOk) throw new DomainError('invalid_state', `refused: host ${source.name}'s REST login is not sent to another host without an admin's one-off confirmation`);
    const sharedNote = shared.size ? `; an admin confirmed sharing host ${source.name}'s ${describeShares([...shared] as SharedSecret[])} for this job as a one-off, and it is marked for rotation` : '';
    const note = temp
      ? `credential: a temporary key (${(row.key_id ?? '').slice(0, 8)}) of host ${source.name}'s repository, added for this job only and removed when it ends${sharedNote}`
      : `credential: host ${source.name}'s stored repository password is used for this one job (this agent does not keep it), because ${row.reason.replace(/;.*$/, '')}${sharedNote}`;
    return {
      repository: cfg.repository, password: temp ?? cfg.password,
      ...(cfg.rest_username ? { rest_username: cfg.rest_username } : {}),
      ...(cfg.rest_password ? { rest_password: cfg.rest_password } : {}),
      note: note.slice(0, 500),
    };
  }

  /** The restore job ended (any status): remove its temporary key, or record that the one-job credential lapsed. */
  async jobEnded(job: JobRow): Promise<void> {
    const row = await this.creds.findByJob(job.id);
    if (!row || row.revoked_at) return;
    const fresh = (await this.d.repos.jobs.findById(job.id)) ?? job;
    const user = fresh.actor_kind === 'user' && fresh.actor_id ? await this.d.repos.users.findById(fresh.actor_id) : undefined;
    const base = { source_host_id: row.source_host_id, target_host_id: row.target_host_id, mode: row.mode, job_status: fresh.status, acting: { user_id: fresh.actor_id, username: user?.username ?? null } };
    const target = { kind: 'job', id: job.id };
    if (row.mode === 'stored_credential') {
      await this.creds.update(job.id, { revoked_at: iso(this.d.now()) });
      await this.audit.record({ kind: 'system' }, 'restore.credential.revoke', target, { ...base, note: 'the one-job credential lapsed with the job; the stored password itself is unchanged (rotate it if the target host should not know it)' });
      return;
    }
    if (!row.key_id) return;
    if (!this.d.agents.isConnected(row.source_host_id)) {
      await this.creds.update(job.id, { revoke_error: 'the source host is offline; retried when it reconnects' });
      await this.audit.record({ kind: 'system' }, 'restore.credential.revoke_pending', target, base);
      return;
    }
    try {
      await this.removeKey(row.source_host_id, job.id, row.key_id);
    } catch (e) {
      const message = (e as Error).message;
      const retryInMs = this.retryLater(job.id);
      await this.creds.update(job.id, { revoke_error: message.slice(0, 1000) });
      await this.audit.record({ kind: 'system' }, 'restore.credential.revoke_failed', target, {
        ...base, error: message.slice(0, 500), ...(retryInMs === null ? { retry: 'when the source host reconnects' } : { retry_in_s: Math.round(retryInMs / 1000) }),
      });
      return;
    }
    this.forgetRetry(job.id);
    await this.creds.update(job.id, { revoked_at: iso(this.d.now()), secret_enc: null, revoke_error: null });
    await this.audit.record({ kind: 'system' }, 'restore.credential.revoke', target, { ...base, restic_id_prefix: row.key_id.slice(0, 8) });
  }

  /** Schedules the next try of a failed removal: its delay, or null once REVOKE_RETRIES are spent (a reconnect still retries). */
  private retryLater(jobId: string): number | null {
    const prev = this.retries.get(jobId);
    const attempts = (prev?.attempts ?? 0) + 1;
    if (prev?.timer) clearTimeout(prev.timer);
    if (attempts > REVOKE_RETRIES) {
      this.retries.delete(jobId);
      return null;
    }
    const delay = (this.timing.revokeRetryMs ?? REVOKE_RETRY_MS) * 4 ** (attempts - 1);
    const timer = setTimeout(() => {
      const entry = this.retries.get(jobId);
      if (entry) entry.timer = null;
      void this.retryOne(jobId);
    }, delay);
    timer.unref();
    this.retries.set(jobId, { attempts, timer });
    return delay;
  }

  private async retryOne(jobId: string): Promise<void> {
    try {
      const job = await this.d.repos.jobs.findById(jobId);
      if (job) await this.jobEnded(job);
    } catch (e) {
      this.d.log.warn({ job_id: jobId, err: (e as Error).message }, 'retrying the removal of a temporary restore key failed');
    }
  }

  private forgetRetry(jobId: string): void {
    const entry = this.retries.get(jobId);
    if (entry?.timer) clearTimeout(entry.timer);
    this.retries.delete(jobId);
  }

  /** Server shutdown: no retry fires after it (a reconnect of the source host retries instead). */
  stop(): void {
    for (const { timer } of this.retries.values()) if (timer) clearTimeout(timer);
    this.retries.clear();
  }

  /** Removals that could not happen while the source host was away (called after its hello). */
  async retryRevocations(sourceHostId: string): Promise<void> {
    for (const row of await this.creds.pendingRevocations(sourceHostId)) {
      const job = await this.d.repos.jobs.findById(row.job_id);
      if (job) await this.jobEnded(job);
    }
  }

  /** Asks the source agent to remove a temporary key (with the maintenance credential on append-only repositories). */
  async removeKey(hostId: string, jobId: string, keyId: string): Promise<void> {
    // Append-only repositories refuse deletes: the maintenance credential does this one.
    const del = await this.maintenance.deleteCredential(hostId, jobId);
    const r = await this.requests.request<RepoKeyRemove>(hostId, { type: 'repo.key.remove', job_id: jobId, key_id: keyId, ...(del.credential ? { credential: del.credential } : {}) }, this.timing.keyTimeoutMs);
    if (r.error) throw new DomainError('invalid_state', r.error);
  }
}
