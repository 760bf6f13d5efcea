import { randomBytes, randomUUID } from 'node:crypto';
import type { RepoKeyAdd, RestoreRequest } from '@restic-manager/protocol';
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
import type { RestoreCredentials } from './restore-credentials.service.js';
import type { CredentialPlan, KeyBlocker, SharedSecret } from './restore-credential-plan.js';
import { describeShares, planCredential, remedy } from './restore-credential-plan.js';
import type { SnapshotBrowseService } from './snapshot-browse.service.js';

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
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly jobs: JobService,
    private readonly hosts: HostService,
    private readonly browse: SnapshotBrowseService,
    private readonly requests: AgentRequests,
    private readonly maintenance: MaintenanceService,
    private readonly credentials: RestoreCredentials,
  ) {}

  /** How long to wait for the source agent's key add/remove (tests shorten it; shared with RestoreCredentials). */
  get keyTimeoutMs(): number {
    return this.credentials.timing.keyTimeoutMs;
  }
  set keyTimeoutMs(ms: number) {
    this.credentials.timing.keyTimeoutMs = ms;
  }

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
  private refuseSharing(actor: Actor, plan: CredentialPlan, share: boolean, source: { id: string; name: string }, targetName: string): void {
    if (!plan.shares.length) return;
    const what = `host ${source.name}'s permanent ${describeShares(plan.shares)}`;
    if (!share) {
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
    return this.crossHost(actor, 'restore', { id: sourceId, name: source.name }, target, args, summary, body.share_source_credential ?? false);
  }

  /**
   * A job of `kind` on the target host that reads the source host's repository through a
   * temporary key (or an admin's audited one-off; `share` confirms it). Used by cross-host
   * restores and restore drills (RestoreDrillService, which never shares).
   */
  async crossHost(actor: Actor, kind: 'restore' | 'restore_drill', source: { id: string; name: string }, target: { id: string; name: string; agent_token_hash: string | null }, args: Record<string, unknown>, summary: Record<string, unknown>, share: boolean, also?: (job: JobRow, r: Repositories) => Promise<void>, scheduleId?: string) {
    const sourceId = source.id;
    const targetHostId = target.id;
    if (!target.agent_token_hash) throw new DomainError('invalid_state', `host ${target.name} is not enrolled yet`);
    if (!(await this.hosts.configFor(sourceId))) throw new DomainError('invalid_state', `host ${source.name} has no stored repository credential to restore from`);

    const plan = await this.credentialPlan(true, sourceId, targetHostId, source.name);
    this.refuseSharing(actor, plan, share, source, target.name);

    const jobId = randomUUID();
    const issued = await this.issue(actor, plan, share, source, target.name, jobId);
    const row: RestoreCredentialRow = {
      job_id: jobId, source_host_id: sourceId, target_host_id: targetHostId, mode: issued.mode, key_id: issued.keyId,
      secret_enc: issued.password ? this.d.box.seal(issued.password, `restore:${jobId}`) : null, reason: issued.reason,
      issued_at: iso(this.d.now()), revoked_at: null, revoke_error: null, shared: issued.shares.length ? issued.shares.join(',') : null,
    };
    try {
      return await this.jobs.runNow(actor, targetHostId, kind, args, {
        jobId, ...(scheduleId ? { scheduleId } : {}), ...(kind === 'restore_drill' ? { drill: true } : {}), auditExtra: { ...summary, credential: issued.mode },
        beforeDispatch: async (job, r) => {
          await r.restoreCredentials.insert(row);
          await this.audit.record(actor, 'restore.credential.issue', { kind: 'job', id: job.id }, {
            source_host_id: sourceId, target_host_id: targetHostId, mode: issued.mode, reason: issued.reason,
            ...(issued.keyId ? { restic_id_prefix: issued.keyId.slice(0, 8) } : {}),
            ...(issued.shares.length ? { shared: issued.shares } : {}),
          }, r.audit);
          if (issued.shares.length) await this.markShared(actor, job.id, issued.shares, sourceId, source.name, target.name, issued.reason, r);
          await also?.(job, r);
        },
      });
    } catch (e) {
      if (issued.keyId) await this.credentials.removeKey(sourceId, jobId, issued.keyId).catch(() => undefined);
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
  private async issue(actor: Actor, plan: CredentialPlan, share: boolean, source: { id: string; name: string }, targetName: string, jobId: string): Promise<{ mode: RestoreCredentialRow['mode']; keyId: string | null; password: string | null; reason: string; shares: SharedSecret[] }> {
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
      this.refuseSharing(actor, { ...fallback, shares }, share, source, targetName);
      return { mode: 'stored_credential', keyId: null, password: null, reason: `${blocker}; an admin confirmed sharing its stored credential for this job`, shares };
    }
  }
}
