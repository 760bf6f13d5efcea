import { randomBytes, randomUUID } from 'node:crypto';
import type { JobCredential, RepoKeyAdd, RepoKeyRemove, RestoreRequest } from '@restic-manager/protocol';
import { planRestore } from '@restic-manager/protocol';
import type { JobRow } from '../repositories/job.repository.js';
import type { RestoreCredentialRow } from '../repositories/restore-credential.repository.js';
import type { AgentRequests } from './agent-requests.js';
import type { AuditService } from './audit.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { HostService } from './host.service.js';
import type { JobService } from './job.service.js';
import type { MaintenanceService } from './maintenance.service.js';
import type { CredentialPlan, KeyBlocker, SharedSecret } from './restore-credential-plan.js';
import { describeShares, planCredential, remedy, sameRestLogin } from './restore-credential-plan.js';
import type { SnapshotBrowseService } from './snapshot-browse.service.js';

/** How long the server waits for the source agent to add or remove the temporary key. */
export const KEY_TIMEOUT_MS = 30_000;

const invalid = (field: string, message: string): DomainError => new DomainError('validation_failed', `${field}: ${message}`, { [field]: message });

/**
 * The restore wizard's submit (spec §3, §14.1). Same-host restores are plain restore jobs.
 * A cross-host restore gives the TARGET agent a read credential for the SOURCE repository for
 * that one job: a temporary restic key added by the source agent (`repo.key.add`) and removed
 * when the job ends. The source's permanent secrets (its restic password, its REST login) never
 * reach another agent unless an admin confirms a one-off (`share_source_credential`), which is
 * audited and marks the source "credential needs rotation"; otherwise such a restore is refused
 * with the reason (docs/decisions/0008-cross-host-restore.md). Secrets never reach audit
 * payloads, API answers or the job log.
 */
export class RestoreService {
  /** How long to wait for the source agent's key add/remove (tests shorten it). */
  keyTimeoutMs = KEY_TIMEOUT_MS;
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly jobs: JobService,
    private readonly hosts: HostService,
    private readonly browse: SnapshotBrowseService,
    private readonly requests: AgentRequests,
    private readonly maintenance: MaintenanceService,
  ) {}

  private get creds() {
    return this.d.repos.restoreCredentials;
  }

  /** Validates a wizard body and resolves hosts and snapshot; throws the same errors as submit. */
  private async check(targetHostId: string, body: RestoreRequest) {
    const target = await this.d.repos.hosts.findById(targetHostId);
    if (!target) throw notFound('host', targetHostId);
    const sourceId = body.source_host_id ?? targetHostId;
    const source = sourceId === targetHostId ? target : await this.d.repos.hosts.findById(sourceId);
    if (!source) throw invalid('source_host_id', `no host ${sourceId}`);
    const snap = await this.browse.resolveSnapshot(sourceId, body.snapshot_id);
    if (!snap) throw invalid('snapshot_id', `snapshot ${body.snapshot_id} is not among the snapshots of host ${source.name}`);
    const targetDir = body.restore_to === 'original' ? '/' : (body.target ?? '');
    const plan = planRestore({ target: targetDir, include: body.include, exclude: body.exclude, remap: body.remap }, (to) => `${to}.staging`);
    if (!plan.ok) throw invalid(plan.field, plan.message);
    return { target, source, sourceId, snap, targetDir, parts: plan.parts };
  }

  /**
   * What a submit would do, without doing it (the wizard's confirm step): the hosts, the
   * snapshot, the restic runs and which credential a cross-host restore would use now.
   */
  async preview(targetHostId: string, body: RestoreRequest) {
    const c = await this.check(targetHostId, body);
    const cross = c.sourceId !== targetHostId;
    return {
      source: { id: c.source.id, name: c.source.name }, target: { id: c.target.id, name: c.target.name, online: this.d.agents.isConnected(c.target.id) },
      snapshot: c.snap, restore_to: body.restore_to, target_dir: c.targetDir, include: body.include, remap: body.remap, verify: body.verify,
      parts: c.parts.map((p) => ({ target: p.target, include: p.include, exclude: p.exclude, ...(p.move ? { move: { from: p.move.from.slice(p.target.length), to: p.move.to } } : {}) })),
      ...(await this.credentialPlan(cross, c.sourceId, c.target.id, c.source.name)),
    };
  }

  /** Which credential a cross-host restore would use right now, why, and which permanent secrets it would share. */
  private async credentialPlan(cross: boolean, sourceId: string, targetId: string, name: string): Promise<CredentialPlan> {
    if (!cross) return { credential: 'own', credential_reason: '', shares: [] };
    const blocker: KeyBlocker | null = !this.d.agents.isConnected(sourceId)
      ? { kind: 'offline', text: `host ${name} is offline` }
      : (await this.maintenance.cannotDelete(sourceId)) ? { kind: 'append_only', text: `host ${name}'s repository is append-only and has no maintenance credential, so a temporary key could not be removed afterwards` } : null;
    return planCredential(blocker, await this.hosts.configFor(sourceId), await this.hosts.configFor(targetId));
  }

  /** Refuses a restore that would share permanent secrets without an admin's explicit one-off. */
  private refuseSharing(actor: Actor, plan: CredentialPlan, body: RestoreRequest, source: { id: string; name: string }, targetName: string): void {
    if (!plan.shares.length) return;
    const what = `host ${source.name}'s permanent ${describeShares(plan.shares)}`;
    if (!body.share_source_credential) {
      const fix = remedy(plan, source);
      throw new DomainError('conflict', `refused: this cross-host restore would give host ${targetName} ${what}, because ${plan.credential_reason}. Instead, ${fix}; or an admin can confirm a one-off with share_source_credential (host ${source.name}'s credentials are then marked for rotation)`,
        { share_source_credential: `required to send ${what} to host ${targetName}` });
    }
    if (!(actor.kind === 'user' && actor.role === 'admin')) {
      throw new DomainError('forbidden', `only an admin can confirm sending ${what} to another host`, { share_source_credential: 'admin only' });
    }
  }

  async submit(actor: Actor, targetHostId: string, body: RestoreRequest) {
    const { target, source, sourceId, snap, targetDir } = await this.check(targetHostId, body);
    const args = {
      snapshot_id: snap.id, target: targetDir, include: body.include, exclude: body.exclude, verify: body.verify,
      ...(body.remap.length ? { remap: body.remap } : {}),
    };
    const summary = { source_host_id: sourceId, snapshot_id: snap.id, restore_to: body.restore_to, remap: body.remap };
    if (sourceId === targetHostId) return this.jobs.runNow(actor, targetHostId, 'restore', args, { auditExtra: summary });
    if (!target.agent_token_hash) throw new DomainError('invalid_state', `host ${target.name} is not enrolled yet`);
    if (!(await this.hosts.configFor(sourceId))) throw new DomainError('invalid_state', `host ${source.name} has no stored repository credential to restore from`);

    const plan = await this.credentialPlan(true, sourceId, targetHostId, source.name);
    this.refuseSharing(actor, plan, body, source, target.name);

    const jobId = randomUUID();
    const issued = await this.issue(actor, plan, body, source, target.name, jobId);
    const row: RestoreCredentialRow = {
      job_id: jobId, source_host_id: sourceId, target_host_id: targetHostId, mode: issued.mode, key_id: issued.keyId,
      secret_enc: issued.password ? this.d.box.seal(issued.password, `restore:${jobId}`) : null, reason: issued.reason,
      issued_at: iso(this.d.now()), revoked_at: null, revoke_error: null, shared: issued.shares.length ? issued.shares.join(',') : null,
    };
    try {
      return await this.jobs.runNow(actor, targetHostId, 'restore', args, {
        jobId, auditExtra: { ...summary, credential: issued.mode },
        beforeDispatch: async (job, r) => {
          await r.restoreCredentials.insert(row);
          await this.audit.record(actor, 'restore.credential.issue', { kind: 'job', id: job.id }, {
            source_host_id: sourceId, target_host_id: targetHostId, mode: issued.mode, reason: issued.reason,
            ...(issued.keyId ? { restic_id_prefix: issued.keyId.slice(0, 8) } : {}),
            ...(issued.shares.length ? { shared: issued.shares } : {}),
          }, r.audit);
          if (issued.shares.length) await this.markShared(actor, job.id, issued.shares, sourceId, source.name, target.name, issued.reason, r);
        },
      });
    } catch (e) {
      if (issued.keyId) await this.removeKey(sourceId, jobId, issued.keyId).catch(() => undefined);
      throw e;
    }
  }

  /** An admin's one-off: audited as such, and the source host is marked "credential needs rotation". */
  private async markShared(actor: Actor, jobId: string, shares: SharedSecret[], sourceId: string, sourceName: string, targetName: string, reason: string, r: Repositories): Promise<void> {
    const since = iso(this.d.now());
    await r.hosts.update(sourceId, {
      credential_rotation_since: since,
      credential_rotation_reason: `its ${describeShares(shares)} went to host ${targetName} for restore job ${jobId} (admin one-off by ${actor.kind === 'user' ? actor.name : actor.kind}, ${since})`,
    });
    await this.audit.record(actor, 'restore.credential.permanent_shared', { kind: 'host', id: sourceId }, {
      job_id: jobId, source_host_id: sourceId, source_host: sourceName, target_host: targetName, shared: shares, reason, rotation_required: true,
    }, r.audit);
  }

  /**
   * A temporary key when the plan allows one, else the stored credential (only reached when an
   * admin confirmed sharing it). A source that does not answer `repo.key.add` in time falls back
   * to the stored credential only under that same confirmation; otherwise the restore is refused.
   */
  private async issue(actor: Actor, plan: CredentialPlan, body: RestoreRequest, source: { id: string; name: string }, targetName: string, jobId: string): Promise<{ mode: RestoreCredentialRow['mode']; keyId: string | null; password: string | null; reason: string; shares: SharedSecret[] }> {
    const name = source.name;
    if (plan.credential === 'stored_credential') {
      return { mode: 'stored_credential', keyId: null, password: null, reason: `${plan.credential_reason}; an admin confirmed sharing its stored credential for this job`, shares: plan.shares };
    }
    const password = randomBytes(32).toString('base64url');
    try {
      const r = await this.requests.request<RepoKeyAdd>(source.id, { type: 'repo.key.add', job_id: jobId, password }, this.keyTimeoutMs);
      if (r.error || !r.key_id) throw new DomainError('invalid_state', `host ${name} could not add a temporary key to its repository: ${r.error ?? 'no key id'}`);
      const rest = plan.shares.length ? `; an admin confirmed sharing its ${describeShares(plan.shares)} for this job` : '';
      return { mode: 'temporary_key', keyId: r.key_id, password, reason: `temporary key added by host ${name}${rest}`, shares: plan.shares };
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'agent_unavailable') throw e;
      const blocker = `host ${name} did not add a temporary key (${e.message.replace(/;/g, ',')})`;
      const fallback = planCredential({ kind: 'no_answer', text: blocker }, await this.hosts.configFor(source.id), null);
      const shares = plan.shares.includes('rest_login') ? fallback.shares : fallback.shares.filter((x) => x !== 'rest_login');
      this.refuseSharing(actor, { ...fallback, shares }, body, source, targetName);
      return { mode: 'stored_credential', keyId: null, password: null, reason: `${blocker}; an admin confirmed sharing its stored credential for this job`, shares };
    }
  }

  /** JobService.dispatch hook: the one-job credential of a cross-host restore, else undefined. */
  async credentialFor(job: JobRow, r: Repositories): Promise<JobCredential | undefined> {
    if (job.kind !== 'restore') return undefined;
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
      await this.creds.update(job.id, { revoke_error: message.slice(0, 1000) });
      await this.audit.record({ kind: 'system' }, 'restore.credential.revoke_failed', target, { ...base, error: message.slice(0, 500) });
      return;
    }
    await this.creds.update(job.id, { revoked_at: iso(this.d.now()), secret_enc: null, revoke_error: null });
    await this.audit.record({ kind: 'system' }, 'restore.credential.revoke', target, { ...base, restic_id_prefix: row.key_id.slice(0, 8) });
  }

  /** Removals that could not happen while the source host was away (called after its hello). */
  async retryRevocations(sourceHostId: string): Promise<void> {
    for (const row of await this.creds.pendingRevocations(sourceHostId)) {
      const job = await this.d.repos.jobs.findById(row.job_id);
      if (job) await this.jobEnded(job);
    }
  }

  /** Whether the job's temporary credential is revoked (for the job page); null when the job has none. */
  async credentialState(jobId: string): Promise<{ mode: string; revoked_at: string | null; revoke_error: string | null; source_host_id: string } | null> {
    const row = await this.creds.findByJob(jobId);
    return row ? { mode: row.mode, revoked_at: row.revoked_at, revoke_error: row.revoke_error, source_host_id: row.source_host_id } : null;
  }

  private async removeKey(hostId: string, jobId: string, keyId: string): Promise<void> {
    // Append-only repositories refuse deletes: the maintenance credential does this one.
    const del = await this.maintenance.deleteCredential(hostId, jobId);
    const r = await this.requests.request<RepoKeyRemove>(hostId, { type: 'repo.key.remove', job_id: jobId, key_id: keyId, ...(del.credential ? { credential: del.credential } : {}) }, this.keyTimeoutMs);
    if (r.error) throw new DomainError('invalid_state', r.error);
  }
}
