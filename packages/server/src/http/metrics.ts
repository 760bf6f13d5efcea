import { performance } from 'node:perf_hooks';
import { Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { HostFigures, MetricsRepository } from '../repositories/metrics.repository.js';
import { safeEqual } from '../crypto/tokens.js';
import type { CidrList } from './net.js';

/**
 * Prometheus exposition (spec §14.4). Per-host gauges are read from the host projections at
 * scrape time; job durations are observed as job.finished frames arrive.
 * Access: `Authorization: Bearer <RM_METRICS_TOKEN>`, or a client IP in RM_METRICS_ALLOW.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly jobDuration: Histogram<'kind' | 'host'>;
  /** command.run sent -> job.started received, per job (server-side clock). */
  readonly dispatch: Summary;
  private readonly sentAt = new Map<string, number>();

  /**
   * `agentsOnline`: the agents connected to any replica (as far as this one knows); `agentsHere`:
   * those connected to this process (`restic_manager_replica_agents_connected`, to see how a load
   * balancer spreads them).
   */
  constructor(private readonly db: MetricsRepository, version: string, agentsOnline: () => Set<string>, agentsHere: () => number = () => agentsOnline().size) {
    const r = this.registry;
    // Process metrics (RSS, CPU, event-loop lag, GC) with the standard names.
    collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 20 });
    const hostGauge = (name: string, help: string, pick: (h: HostFigures) => number | null) =>
      new Gauge({
        name, help, labelNames: ['host'], registers: [r],
        async collect() {
          this.reset();
          const online = agentsOnline();
          for (const h of await db.hostFigures()) {
            const v = name === 'restic_manager_agent_online' ? (online.has(h.id) ? 1 : 0) : pick(h);
            if (v != null) this.set({ host: h.name }, v);
          }
        },
      });
    hostGauge('restic_manager_last_backup_timestamp_seconds', 'Finish time of the last backup', (h) => (h.last_backup_at ? Date.parse(h.last_backup_at) / 1000 : null));
    hostGauge('restic_manager_last_backup_status', 'Last backup status (1 = success, 0 = failure)', (h) => (h.last_backup_status == null ? null : h.last_backup_status === 'succeeded' ? 1 : 0));
    // The vault target's pair (decision server-0008), named like §14.4's; absent for hosts without a vault backup.
    hostGauge('restic_manager_last_vault_backup_timestamp_seconds', 'Finish time of the last vault backup', (h) => (h.last_vault_backup_at ? Date.parse(h.last_vault_backup_at) / 1000 : null));
    hostGauge('restic_manager_last_vault_backup_status', 'Last vault backup status (1 = success, 0 = failure)', (h) => (h.last_vault_backup_status == null ? null : h.last_vault_backup_status === 'succeeded' ? 1 : 0));
    hostGauge('restic_manager_repo_size_bytes', 'Repository size in bytes', (h) => h.repo_size_bytes);
    hostGauge('restic_manager_snapshot_count', 'Snapshots in the repository', (h) => h.snapshot_count);
    hostGauge('restic_manager_agent_online', 'Agent connected (1) or not (0)', () => 0);
    // Copies (3-2-1, docs/copies.md): one series per policy and host that has finished a copy.
    const copyGauge = (name: string, help: string, pick: (c: { last_copy_at: string | null; last_copy_status: string | null }) => number | null) =>
      new Gauge({
        name, help, labelNames: ['host', 'policy'], registers: [r],
        async collect() {
          this.reset();
          for (const c of await db.copyFigures()) {
            const v = pick(c);
            if (v != null) this.set({ host: c.host, policy: c.policy }, v);
          }
        },
      });
    copyGauge('restic_manager_last_copy_timestamp_seconds', 'Finish time of the last copy of a copy policy for a host', (c) => (c.last_copy_at ? Date.parse(c.last_copy_at) / 1000 : null));
    copyGauge('restic_manager_last_copy_success', 'Last copy of a copy policy for a host succeeded (1) or not (0)', (c) => (c.last_copy_status == null ? null : c.last_copy_status === 'succeeded' ? 1 : 0));
    // Restore drills (issue 16, docs/recoverability.md): per drilled host, its last finished drill.
    const drillGauge = (name: string, help: string, pick: (d: { finished_at: string; status: string; duration_seconds: number | null }) => number | null) =>
      new Gauge({
        name, help, labelNames: ['host'], registers: [r],
        async collect() {
          this.reset();
          for (const d of (await db.drillFigures()).last) {
            const v = pick(d);
            if (v != null) this.set({ host: d.host }, v);
          }
        },
      });
    drillGauge('restic_manager_last_restore_drill_timestamp_seconds', 'Finish time of the last restore drill of a host', (d) => Date.parse(d.finished_at) / 1000);
    drillGauge('restic_manager_last_restore_drill_status', 'Last restore drill of a host succeeded (1) or not (0)', (d) => (d.status === 'succeeded' ? 1 : 0));
    drillGauge('restic_manager_last_restore_drill_duration_seconds', 'Duration of the last restore drill of a host', (d) => d.duration_seconds);
    new Gauge({
      name: 'restic_manager_restore_rto_seconds', help: 'Estimated time to restore the whole latest drilled snapshot (its size / the last successful drill\'s restore throughput), per host and engine', labelNames: ['host', 'engine'], registers: [r],
      async collect() {
        this.reset();
        for (const x of (await db.drillFigures()).rto) this.set({ host: x.host, engine: x.engine }, x.rto_seconds);
      },
    });
    this.jobDuration = new Histogram({
      name: 'restic_manager_job_duration_seconds', help: 'Job duration', labelNames: ['kind', 'host'], registers: [r],
      buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600],
    });
    new Gauge({
      name: 'restic_manager_jobs_total', help: 'Jobs by kind and status', labelNames: ['kind', 'status'], registers: [r],
      async collect() {
        this.reset();
        for (const row of await db.jobCounts()) this.set({ kind: row.kind, status: row.status }, row.n);
      },
    });
    new Gauge({
      name: 'restic_manager_alerts_active', help: 'Unresolved alerts', registers: [r],
      async collect() {
        this.set(await db.activeAlerts());
      },
    });
    this.dispatch = new Summary({
      name: 'restic_manager_dispatch_latency_seconds', help: 'command.run sent to job.started received', registers: [r],
      percentiles: [0.5, 0.9, 0.99], maxAgeSeconds: 600, ageBuckets: 5,
    });
    // An `_info` metric is a gauge fixed at 1 whose labels carry the facts (Prometheus convention).
    new Gauge({
      name: 'restic_manager_replica_agents_connected', help: 'Agents whose WebSocket this server process holds (with several replicas, each reports its own)', registers: [r],
      collect() {
        this.set(agentsHere());
      },
    });
    new Gauge({ name: 'restic_manager_build_info', help: 'Build information: the server version (value always 1)', labelNames: ['version'], registers: [r] }).set({ version }, 1);
  }

  commandSent(jobId: string): void {
    if (this.sentAt.size > 100_000) this.sentAt.clear();
    this.sentAt.set(jobId, performance.now());
  }

  /** Observes a finished job's duration (from its stored start and finish times). */
  async observeDuration(jobId: string, hostName: string): Promise<void> {
    const j = await this.db.jobTimes(jobId);
    if (j?.started_at && j.finished_at) this.jobDuration.observe({ kind: j.kind, host: hostName }, Math.max(0, (Date.parse(j.finished_at) - Date.parse(j.started_at)) / 1000));
  }

  jobStarted(jobId: string): void {
    const t = this.sentAt.get(jobId);
    if (t === undefined) return;
    this.sentAt.delete(jobId);
    this.dispatch.observe((performance.now() - t) / 1000);
  }

  handler(token: string | null, allow: CidrList) {
    return async (req: Request, ip: string): Promise<Response> => {
      const auth = req.headers.get('authorization') ?? '';
      const okToken = token != null && auth.startsWith('Bearer ') && safeEqual(auth.slice(7), token);
      if (!okToken && !allow.has(ip)) {
        return new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'metrics need the RM_METRICS_TOKEN bearer or an allowed address' } }), { status: 401, headers: { 'content-type': 'application/json' } });
      }
      return new Response(await this.registry.metrics(), { headers: { 'content-type': this.registry.contentType } });
    };
  }
}
