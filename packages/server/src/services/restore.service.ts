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
import type { SnapshotBrowseService } from './snapshot-browse.service.js';

/** How long the server waits for the source agent to add or remove the temporary key. */
export const KEY_TIMEOUT_MS = 30_000;

const invalid = (field: string, message: string): DomainError => new DomainError('validation_failed', `${field}: ${message}`, { [field]: message });

/**
 * The restore wizard's submit (spec §3, §14.1). Same-host restores are plain restore jobs.
 * A cross-host restore gives the TARGET agent a read credential for the SOURCE repository for
 * that one job: a temporary restic key added by the source agent (`repo.key.add`) and removed
 * when the job ends, or — source offline — the source's stored password, said so in the job log
 * and the audit (docs/decisions/0008-cross-host-restore.md). Secrets never reach audit payloads,
 * API answers or the job log.
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
      ...(await this.credentialPlan(cross, c.sourceId, c.source.name)),
    };
  }

  /** Which credential a cross-host restore would use right now, and why (for the confirm step). */
  private async credentialPlan(cross: boolean, sourceId: string, name: string): Promise<{ credential: 'own' | 'temporary_key' | 'stored_credential'; credential_reason: string }> {
    if (!cross) return { credential: 'own', credential_reason: '' };
    if (!this.d.agents.isConnected(sourceId)) return { credential: 'stored_credential', credential_reason: `${name} is offline` };
    if (await this.maintenance.cannotDelete(sourceId)) return { credential: 'stored_credential', credential_reason: `${name}'s repository is append-only and has no maintenance credential, so a temporary key could not be removed afterwards` };
    return { credential: 'temporary_key', credential_reason: '' };
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

    const jobId = randomUUID();
    const issued = await this.issue(sourceId, source.name, jobId);
    const row: RestoreCredentialRow = {
      job_id: jobId, source_host_id: sourceId, target_host_id: targetHostId, mode: issued.mode, key_id: issued.keyId,
      secret_enc: issued.password ? this.d.box.seal(issued.password, `restore:${jobId}`) : null, reason: issued.reason,
      issued_at: iso(this.d.now()), revoked_at: null, revoke_error: null,
    };
    try {
      return await this.jobs.runNow(actor, targetHostId, 'restore', args, {
        jobId, auditExtra: { ...summary, credential: issued.mode },
        beforeDispatch: async (job, r) => {
          await r.restoreCredentials.insert(row);
          await this.audit.record(actor, 'restore.credential.issue', { kind: 'job', id: job.id }, {
            source_host_id: sourceId, target_host_id: targetHostId, mode: issued.mode, reason: issued.reason,
            ...(issued.keyId ? { restic_id_prefix: issued.keyId.slice(0, 8) } : {}),
          }, r.audit);
        },
      });
    } catch (e) {
      if (issued.keyId) await this.removeKey(sourceId, jobId, issued.keyId).catch(() => undefined);
      throw e;
    }
  }

  /** A temporary key when the source agent is online; else the stored credential (dead box). */
  private async issue(sourceId: string, name: string, jobId: string): Promise<{ mode: RestoreCredentialRow['mode']; keyId: string | null; password: string | null; reason: string }> {
    if (this.d.agents.isConnected(sourceId) && (await this.maintenance.cannotDelete(sourceId))) {
      return { mode: 'stored_credential', keyId: null, password: null, reason: `host ${name}'s repository is append-only and has no maintenance credential, so a temporary key could not be removed afterwards; its stored credential is used for this job` };
    }
    if (this.d.agents.isConnected(sourceId)) {
      const password = randomBytes(32).toString('base64url');
      try {
        const r = await this.requests.request<RepoKeyAdd>(sourceId, { type: 'repo.key.add', job_id: jobId, password }, this.keyTimeoutMs);
        if (r.error || !r.key_id) throw new DomainError('invalid_state', `host ${name} could not add a temporary key to its repository: ${r.error ?? 'no key id'}`);
        return { mode: 'temporary_key', keyId: r.key_id, password, reason: `temporary key added by host ${name}` };
      } catch (e) {
        if (!(e instanceof DomainError) || e.code !== 'agent_unavailable') throw e;
        return { mode: 'stored_credential', keyId: null, password: null, reason: `host ${name} did not add a temporary key (${e.message.replace(/;/g, ',')}); its stored credential is used for this job` };
      }
    }
    return { mode: 'stored_credential', keyId: null, password: null, reason: `host ${name} is offline; its stored credential is used for this job` };
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
    const note = temp
      ? `credential: a temporary key (${(row.key_id ?? '').slice(0, 8)}) of host ${source.name}'s repository, added for this job only and removed when it ends`
      : `credential: host ${source.name}'s stored repository password is used for this one job (this agent does not keep it), because ${row.reason.replace(/;.*$/, '')}`;
    return {
      repository: cfg.repository, password: temp ?? cfg.password,
      ...(cfg.rest_username ? { rest_username: cfg.rest_username } : {}),
      ...(cfg.rest_password ? { rest_password: cfg.rest_password } : {}),
      note,
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
