import { DRILL_DEFAULT_BYTES, DRILL_DEFAULT_FILES } from '@restic-manager/protocol';
import type { VaultDrillRequest, VaultDrillTrustInput, VaultDrillTrustView, VaultSnapshotInfo } from '@restic-manager/protocol';
import type { JobRow } from '../repositories/job.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { JobService } from './job.service.js';
import { chooseDrillHost } from './vault-drill-readiness.js';

/**
 * Vault drills (issue 16, docs/recoverability.md "Vault drills"): admins mark hosts trusted for
 * vault drills (audited); a drill of a host's vault target is a `vault_drill` job on a trusted
 * host whose agent reported an identity matching the target's recipient. The job carries the
 * target (S3 keys for this job only, as vault jobs do) and the latest snapshot's id; the identity
 * never passes through the server. The drill is a `restore_drills` row (engine `vault`) whose
 * outcome RestoreDrillService.jobEnded records like a restic drill's.
 */
export class VaultDrillService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly jobs: JobService,
  ) {}

  async trust(hostId: string): Promise<VaultDrillTrustView> {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    const t = await this.d.repos.vaultDrillHosts.find(hostId);
    return {
      host_id: hostId, trusted: t?.trusted === 1, trusted_at: t?.trusted_at ?? null, identity_recipient: t?.identity_recipient ?? null,
      identity_error: t?.identity_error ?? null, identity_reported_at: t?.identity_reported_at ?? null,
    };
  }

  /** Admin only: marks (or unmarks) the host trusted for vault drills; audited. */
  async setTrust(actor: Actor, hostId: string, input: VaultDrillTrustInput): Promise<VaultDrillTrustView> {
    if (!(actor.kind === 'user' && actor.role === 'admin')) throw new DomainError('forbidden', 'only admins may mark a host trusted for vault drills');
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    await this.d.inTx(async (r) => {
      await r.vaultDrillHosts.setTrust(hostId, input.trusted, actor.id, iso(this.d.now()));
      await this.audit.record(actor, 'host.vault_drill_trust.set', { kind: 'host', id: hostId }, { host: host.name, trusted: input.trusted }, r.audit);
    });
    return this.trust(hostId);
  }

  /**
   * A restore_drill schedule fired (MaintenanceScheduler, beside RestoreDrillService.fire): a host
   * with a vault target also gets a vault drill on a trusted host (the first whose identity
   * matches; the schedule's drill host is for its restic repositories). A refusal is logged and
   * audited as job.schedule_failed and never stops the schedule's other drills. Never throws a DomainError.
   */
  async fire(s: { id: string; host_id: string }): Promise<string[]> {
    if (!(await this.d.repos.vaults.findByHost(s.host_id))) return [];
    try {
      return (await this.run({ kind: 'system' }, s.host_id, {}, s.id)).jobs.map((j) => j.id);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      this.d.log.warn({ schedule_id: s.id, host_id: s.host_id, err: err.message }, 'scheduled vault drill could not start');
      await this.audit.record({ kind: 'system' }, 'job.schedule_failed', { kind: 'schedule', id: s.id }, { host_id: s.host_id, kind: 'vault_drill', error: err.message });
      return [];
    }
  }

  /** Drills the host's vault target now on a trusted host (refused, with the reason, when there is none). */
  async run(actor: Actor, hostId: string, req: VaultDrillRequest = {}, scheduleId?: string) {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const target = await this.d.repos.vaults.findByHost(hostId);
    if (!target) throw new DomainError('invalid_state', `host ${host.name} has no vault target to drill`);
    const choice = await chooseDrillHost(this.d.repos, hostId, target.age_recipient, req.drill_host_id);
    if (!choice.ok) throw new DomainError(req.drill_host_id ? 'validation_failed' : 'invalid_state', `vault restores of ${host.name} stay unproven: ${choice.reason}`, req.drill_host_id ? { drill_host_id: choice.reason } : undefined);
    const snaps = target.snapshots ? (JSON.parse(target.snapshots) as VaultSnapshotInfo[]) : [];
    const latest = snaps.reduce<VaultSnapshotInfo | null>((b, s) => (!b || Date.parse(s.time) > Date.parse(b.time) ? s : b), null);
    if (!latest) throw new DomainError('invalid_state', `host ${host.name} has no vault snapshot to drill: run a vault backup first`);
    const drillHost = choice.host;
    const args = { snapshot_id: latest.id, sample_files: req.sample_files ?? DRILL_DEFAULT_FILES, sample_bytes: req.sample_bytes ?? DRILL_DEFAULT_BYTES, seed: req.seed ?? 'restic-manager' };
    const record = async (job: JobRow, r: Repositories) => {
      await r.drills.insert({
        job_id: job.id, host_id: hostId, drill_host_id: drillHost.id, repository_id: null, engine: 'vault',
        status: 'queued', snapshot_id: latest.id, files: null, bytes: null, duration_seconds: null, throughput_bps: null, rto_seconds: null,
        error: null, created_at: job.created_at, finished_at: null,
      });
    };
    const summary = { drilled_host_id: hostId, drill_host_id: drillHost.id, engine: 'vault', ...(scheduleId ? { schedule_id: scheduleId } : {}) };
    const out = await this.jobs.runNow(actor, drillHost.id, 'vault_drill', args, { drill: true, auditExtra: summary, beforeDispatch: record, ...(scheduleId ? { scheduleId } : {}) });
    return { jobs: [out.job], dispatched: out.dispatched };
  }
}
