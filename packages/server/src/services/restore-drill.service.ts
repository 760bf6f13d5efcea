import { DRILL_DEFAULT_BYTES, DRILL_DEFAULT_FILES } from '@restic-manager/protocol';
import type { RestoreDrillRequest, RestoreDrillSummary, RestoreDrillView } from '@restic-manager/protocol';
import type { JobRow } from '../repositories/job.repository.js';
import type { RestoreDrillRow } from '../repositories/restore-drill.repository.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { JobService } from './job.service.js';
import type { RestoreService } from './restore.service.js';
import { vaultProof } from './vault-drill-readiness.js';

/** Where a drill's outcome goes besides its row: the restore_drill_failed alert (AlertRulesService). */
export interface DrillAlerts {
  drillFinished(hostId: string, drill: { job_id: string; status: string; error: string | null; drillHost: string }): Promise<void>;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function drillView(r: RestoreDrillRow): RestoreDrillView {
  return {
    job_id: r.job_id, host_id: r.host_id, drill_host_id: r.drill_host_id, repository_id: r.repository_id, engine: r.engine,
    status: r.status as RestoreDrillView['status'], snapshot_id: r.snapshot_id, files: r.files, bytes: r.bytes,
    duration_seconds: r.duration_seconds, throughput_bps: r.throughput_bps, rto_seconds: r.rto_seconds, error: r.error,
    created_at: r.created_at, finished_at: r.finished_at,
  };
}

/**
 * Restore drills (issue 16, docs/recoverability.md "Restore drills"): a `restore_drill` job per
 * restic/rustic repository of the host, on the host itself or on another enrolled host through
 * the cross-host restore's temporary key (RestoreService.crossHost; permanent secrets are never
 * shared for a drill). Each drill is a `restore_drills` row; its outcome comes from the job's end.
 * Vault targets are drilled by VaultDrillService on a trusted host; their rows end here too.
 */
export class RestoreDrillService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly jobs: JobService,
    private readonly restore: RestoreService,
    private readonly alerts: DrillAlerts,
  ) {}

  /** Drills the host's latest snapshot(s) now; one job per repository (cross-host: the primary only). */
  async run(actor: Actor, hostId: string, req: RestoreDrillRequest = {}, scheduleId?: string) {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const drillHostId = req.drill_host_id ?? hostId;
    const drillHost = drillHostId === hostId ? host : await this.d.repos.hosts.findById(drillHostId);
    if (!drillHost) throw new DomainError('validation_failed', `drill_host_id: no host ${drillHostId}`, { drill_host_id: 'unknown host' });
    if (!host.repo_id) throw new DomainError('invalid_state', `host ${host.name} has no repository to drill`);
    const cross = drillHostId !== hostId;
    const args = {
      ...(host.hostname ? { hostname: host.hostname } : {}),
      sample_files: req.sample_files ?? DRILL_DEFAULT_FILES, sample_bytes: req.sample_bytes ?? DRILL_DEFAULT_BYTES,
      seed: req.seed ?? 'restic-manager', compare_live: !cross,
    };
    const links = cross ? [] : (await this.d.repos.repos.linksOfHost(hostId)).filter((l) => l.repo_id !== host.repo_id);
    const record = (repositoryId: string | null) => async (job: JobRow, r: Repositories) => {
      const repo = await r.repos.findById(repositoryId ?? host.repo_id ?? '');
      await r.drills.insert({
        job_id: job.id, host_id: hostId, drill_host_id: drillHostId, repository_id: repositoryId ?? host.repo_id, engine: repo?.engine ?? 'restic',
        status: 'queued', snapshot_id: null, files: null, bytes: null, duration_seconds: null, throughput_bps: null, rto_seconds: null,
        error: null, created_at: job.created_at, finished_at: null,
      });
    };
    const summary = { drilled_host_id: hostId, drill_host_id: drillHostId, ...(scheduleId ? { schedule_id: scheduleId } : {}) };
    const sched = { drill: true, ...(scheduleId ? { scheduleId } : {}) };
    const out = [];
    out.push(cross
      ? await this.restore.crossHost(actor, 'restore_drill', { id: hostId, name: host.name }, drillHost, args, summary, false, record(null), scheduleId)
      : await this.jobs.runNow(actor, hostId, 'restore_drill', args, { ...sched, auditExtra: summary, beforeDispatch: record(null) }));
    for (const l of links) {
      out.push(await this.jobs.runNow(actor, hostId, 'restore_drill', args, { ...sched, auditExtra: summary, repositoryId: l.repo_id, beforeDispatch: record(l.repo_id) }));
    }
    return { jobs: out.map((o) => o.job), dispatched: out.every((o) => o.dispatched) };
  }

  /** A restore_drill schedule fired (MaintenanceScheduler): drills with the schedule as the jobs' origin. */
  async fire(s: { id: string; host_id: string; drill_host_id: string | null }): Promise<string[]> {
    const r = await this.run({ kind: 'system' }, s.host_id, s.drill_host_id ? { drill_host_id: s.drill_host_id } : {}, s.id);
    return r.jobs.map((j) => j.id);
  }

  /** JobService.onEnded: the drill's row takes the job's outcome and measurements; the alert follows. */
  async jobEnded(job: JobRow): Promise<void> {
    if (job.kind !== 'restore_drill' && job.kind !== 'vault_drill') return;
    const row = await this.d.repos.drills.findByJob(job.id);
    const fresh = await this.d.repos.jobs.findById(job.id);
    if (!row || !fresh) return;
    const s = fresh.stats ? (JSON.parse(fresh.stats) as Record<string, unknown>) : {};
    const ok = fresh.status === 'succeeded';
    await this.d.repos.drills.update(job.id, {
      status: fresh.status, snapshot_id: typeof s.snapshot_id === 'string' ? s.snapshot_id : null,
      files: ok ? num(s.files) : null, bytes: ok ? num(s.bytes) : null, duration_seconds: num(s.duration_seconds),
      throughput_bps: ok ? num(s.throughput_bps) : null, rto_seconds: ok ? num(s.rto_seconds) : null,
      error: fresh.error, finished_at: fresh.finished_at ?? iso(this.d.now()),
    });
    const drillHost = row.drill_host_id === row.host_id ? 'itself' : ((await this.d.repos.hosts.findById(row.drill_host_id))?.name ?? row.drill_host_id);
    await this.alerts.drillFinished(row.host_id, { job_id: job.id, status: fresh.status, error: fresh.error, drillHost });
  }

  /** Every drilled host's last drill and last proven restore, and the hosts whose vault restores are unproven, each with the reason (dashboard). */
  async fleet(): Promise<{ hosts: { host_id: string; host_name: string; last: RestoreDrillView; last_success: RestoreDrillView | null }[]; vault_unproven: string[] }> {
    const hosts = [];
    for (const e of await this.d.repos.drills.latestPerHost()) {
      const h = await this.d.repos.hosts.findById(e.last.host_id);
      if (h) hosts.push({ host_id: h.id, host_name: h.name, last: drillView(e.last), last_success: e.lastSuccess ? drillView(e.lastSuccess) : null });
    }
    const vault = [];
    for (const id of await this.d.repos.vaults.hostIds()) {
      const proof = await vaultProof(this.d.repos, id);
      if (proof.state === 'unproven') vault.push(`${(await this.d.repos.hosts.findById(id))?.name ?? id} (${proof.reason ?? 'no vault drill yet'})`);
    }
    return { hosts: hosts.sort((a, b) => a.host_name.localeCompare(b.host_name)), vault_unproven: vault.sort() };
  }

  /** The host's last proven restore and its recent drills. */
  async summary(hostId: string): Promise<RestoreDrillSummary> {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    const [last, recent, vault] = await Promise.all([this.d.repos.drills.lastSuccess(hostId), this.d.repos.drills.recent(hostId, 20), vaultProof(this.d.repos, hostId)]);
    return { last_success: last ? drillView(last) : null, recent: recent.map(drillView), vault: vault.state, ...(vault.reason ? { vault_reason: vault.reason } : {}) };
  }
}
