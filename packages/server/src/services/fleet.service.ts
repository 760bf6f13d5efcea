import type { AlertRow } from '../repositories/alert.repository.js';
import type { SnapshotFilter } from '../repositories/snapshot.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { notFound } from './errors.js';
import { snapshotView } from './views.js';

/** An alert that was just raised or resolved (what notification channels are told). */
export interface AlertChange {
  change: 'raised' | 'resolved';
  alert: AlertRow;
}

/** Read models across hosts: fleet summary, snapshots, alerts (and alert acknowledgement). */
export class FleetService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    /** Told after every raise and resolve (the notifier); must not throw and must not block. */
    private readonly onAlertChange: (c: AlertChange) => void,
  ) {}

  /**
   * Host counts by status, repository bytes, open alerts and running jobs — of the whole fleet,
   * or (with `scope`, a scoped caller's host tags) of the hosts in scope only.
   */
  async summary(scope?: string[] | null) {
    if (scope) return this.scopedSummary(scope);
    const byStatus = await this.d.repos.hosts.countByStatus();
    const totals = await this.d.repos.hosts.totals();
    const openAlerts = await this.d.repos.alerts.list({ open: true }, 1, 0);
    return {
      hosts_total: Object.values(byStatus).reduce((a, b) => a + b, 0),
      hosts_by_status: byStatus,
      total_repo_bytes: totals.bytes,
      open_alerts: openAlerts.total,
      running_jobs: await this.d.repos.jobs.countByStatus('running'),
    };
  }

  private async scopedSummary(scope: string[]) {
    const hosts = (await this.d.repos.hosts.list({ anyTag: scope }, 100_000, 0)).rows;
    const ids = hosts.map((h) => h.id);
    const byStatus: Record<string, number> = {};
    for (const h of hosts) byStatus[h.status] = (byStatus[h.status] ?? 0) + 1;
    return {
      hosts_total: hosts.length,
      hosts_by_status: byStatus,
      total_repo_bytes: hosts.reduce((a, h) => a + (h.repo_size_bytes ?? 0), 0),
      open_alerts: (await this.d.repos.alerts.list({ open: true, host_ids: ids }, 1, 0)).total,
      running_jobs: (await this.d.repos.jobs.list({ status: 'running', host_ids: ids }, 'desc', 1, 0)).total,
    };
  }

  async snapshots(hostId: string, f: SnapshotFilter, limit: number, offset: number) {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    const { rows, total } = await this.d.repos.snapshots.list(hostId, f, limit, offset);
    return { items: rows.map(snapshotView), total, limit, offset };
  }

  async alerts(f: { host_id?: string | undefined; open?: boolean | undefined; kind?: string | undefined; host_ids?: string[] | undefined }, limit: number, offset: number) {
    const { rows, total } = await this.d.repos.alerts.list(f, limit, offset);
    return { items: rows, total, limit, offset };
  }

  async ackAlert(actor: Actor, id: string) {
    const a = await this.d.repos.alerts.findById(id);
    if (!a) throw notFound('alert', id);
    await this.d.repos.alerts.acknowledge(id, iso(this.d.now()));
    await this.audit.record(actor, 'alert.ack', { kind: 'alert', id }, { host_id: a.host_id, kind: a.kind });
    return (await this.d.repos.alerts.findById(id))!;
  }

  /**
   * Raises (once) or resolves an alert of `kind` for a host and refreshes the host's
   * open_alert_count projection; an already open alert keeps its message and time. Every change
   * is passed to `onAlertChange`. Returns what changed (null: nothing).
   */
  async setAlert(hostId: string, kind: string, open: boolean, message: string, severity: AlertRow['severity'] = 'warning'): Promise<AlertChange | null> {
    const change = await this.changeAlert(await this.d.repos.alerts.openOfKind(hostId, kind), open, { host_id: hostId, kind, severity, message }, (at) => this.d.repos.alerts.resolveOpen(hostId, kind, at));
    if (!change) return null;
    await this.d.repos.hosts.update(hostId, { open_alert_count: await this.d.repos.alerts.openForHost(hostId) });
    return this.announce(change);
  }

  /** Like setAlert, for an alert about the control plane itself (no host: shown as "fleet"). */
  async setFleetAlert(kind: string, open: boolean, message: string, severity: AlertRow['severity'] = 'critical'): Promise<AlertChange | null> {
    const change = await this.changeAlert(await this.d.repos.alerts.openFleetOfKind(kind), open, { host_id: null, kind, severity, message }, (at) => this.d.repos.alerts.resolveOpenFleet(kind, at));
    return change ? this.announce(change) : null;
  }

  /** Raises an alert when one should be open and none is, resolves the open one when none should be; null when nothing changes. */
  private async changeAlert(existing: AlertRow | undefined, open: boolean, fields: Pick<AlertRow, 'host_id' | 'kind' | 'severity' | 'message'>, resolve: (at: string) => Promise<unknown>): Promise<AlertChange | null> {
    if (open && !existing) {
      const alert: AlertRow = { id: crypto.randomUUID(), ...fields, created_at: iso(this.d.now()), acknowledged_at: null, resolved_at: null };
      await this.d.repos.alerts.insert(alert);
      return { change: 'raised', alert };
    }
    if (!open && existing) {
      const at = iso(this.d.now());
      await resolve(at);
      return { change: 'resolved', alert: { ...existing, resolved_at: at } };
    }
    return null;
  }

  /** Tells the listener (notifications); its failure is logged, never the caller's. */
  private announce(change: AlertChange): AlertChange {
    try {
      this.onAlertChange(change);
    } catch (e) {
      this.d.log.error({ err: (e as Error).message, kind: change.alert.kind }, 'alert listener failed');
    }
    return change;
  }
}
