import { Cron } from 'croner';
import type { HostCopyStatus, HostCopyStatusItem } from '@restic-manager/protocol';
import type { CopyPolicyRow } from '../repositories/copy-policy.repository.js';
import type { ServiceDeps } from './context.js';
import { copyGraceMs, copyState, isOffsite, worstState } from './copy-rules.js';
import { notFound } from './errors.js';
import type { FleetService } from './fleet.service.js';

/** The interval between the next two fire times of a cron expression (ms), or null. */
function cronInterval(cron: string, tz: string | null, now: number): number | null {
  try {
    const [a, b] = new Cron(cron, { paused: true, ...(tz ? { timezone: tz } : {}) }).nextRuns(2, new Date(now));
    return a && b ? b.getTime() - a.getTime() : null;
  } catch {
    return null;
  }
}

/**
 * The 3-2-1 status of hosts (docs/copies.md): per policy touching a host, `up_to_date`,
 * `behind`, `failing` or `never` (copy-rules.ts copyState), and whether at least one copy is
 * off-site. Raises and resolves the host's `copy_failed` (critical) and `copy_behind` (warning)
 * alerts: one open alert per host and kind, naming a policy; when that policy recovers while
 * another is still failing or behind, the alert is resolved and raised anew about the other.
 */
export class CopyStatusService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly fleet: FleetService,
  ) {}

  /** `GET /api/hosts/{id}/copy-status`. */
  async forHost(hostId: string): Promise<HostCopyStatus> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const links = new Set((await this.d.repos.repos.linksOfHost(hostId)).map((l) => l.repo_id));
    // A policy covers the host while the host is linked to its source (and, with host_id, is that host).
    const policies = (await this.d.repos.copies.all()).filter((p) => p.enabled === 1 && (!p.host_id || p.host_id === hostId) && links.has(p.source_repository_id));
    const items: HostCopyStatusItem[] = [];
    for (const p of policies) items.push(await this.item(p, hostId, p.source_repository_id === host.repo_id));
    return { host_id: hostId, state: worstState(items.map((i) => i.state)), offsite: items.some((i) => i.offsite), items };
  }

  /** The status of every host a policy touches (the dashboard card), by host name. */
  async allHosts(): Promise<(HostCopyStatus & { host_name: string })[]> {
    const out: (HostCopyStatus & { host_name: string })[] = [];
    for (const h of await this.touchedHosts()) {
      const host = await this.d.repos.hosts.findById(h);
      if (host) out.push({ ...(await this.forHost(h)), host_name: host.name });
    }
    return out.filter((s) => s.items.length > 0).sort((a, b) => a.host_name.localeCompare(b.host_name));
  }

  /** Repository names by id (the status cards name the source and target). */
  async repositoryNames(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of new Set(ids)) {
      const r = await this.d.repos.repos.findById(id);
      if (r) out.set(id, r.name);
    }
    return out;
  }

  /** Re-evaluates the copy alerts of one host (after a copy ended, a backup, a policy change). */
  async hostChanged(hostId: string): Promise<void> {
    try {
      const status = await this.forHost(hostId);
      await this.alert(hostId, 'copy_failed', status.items.filter((i) => i.state === 'failing'), 'critical');
      await this.alert(hostId, 'copy_behind', status.items.filter((i) => i.state === 'behind'), 'warning');
    } catch (e) {
      this.d.log.error({ host_id: hostId, err: (e as Error).message }, 'copy status evaluation failed');
    }
  }

  /** Re-evaluates every host a policy touches and every host with an open copy alert (the periodic `behind` check). */
  async evaluateAll(): Promise<void> {
    const hosts = await this.touchedHosts();
    for (const kind of ['copy_failed', 'copy_behind']) for (const a of await this.d.repos.alerts.openByKind(kind)) if (a.host_id) hosts.add(a.host_id);
    for (const h of hosts) await this.hostChanged(h);
  }

  /** Every host some policy copies for. */
  private async touchedHosts(): Promise<Set<string>> {
    const hosts = new Set<string>();
    for (const p of await this.d.repos.copies.all()) {
      if (p.host_id) hosts.add(p.host_id);
      else for (const l of await this.d.repos.repos.linksOfRepo(p.source_repository_id)) hosts.add(l.host_id);
    }
    return hosts;
  }

  private async alert(hostId: string, kind: 'copy_failed' | 'copy_behind', items: HostCopyStatusItem[], severity: 'critical' | 'warning'): Promise<void> {
    const open = await this.d.repos.alerts.openOfKind(hostId, kind);
    const first = items[0];
    if (open && items.some((i) => open.message.includes(`policy ${i.policy_id}`))) return;
    if (open) await this.fleet.setAlert(hostId, kind, false, '');
    if (!first) return;
    const name = (await this.d.repos.hosts.findById(hostId))?.name ?? hostId;
    const [src, dst] = await Promise.all([this.d.repos.repos.findById(first.source_repository_id), this.d.repos.repos.findById(first.target_repository_id)]);
    const what = `copy of ${name} from "${src?.name ?? first.source_repository_id}" to "${dst?.name ?? first.target_repository_id}" (policy ${first.policy_id})`;
    const message = kind === 'copy_failed'
      ? `${what} failed at ${first.last_copy_at ?? 'an unknown time'}: ${first.last_error ?? 'no reason given'}`
      : `${what} is behind: the backup of ${first.last_backup_at ?? '?'} has not been copied (last successful copy ${first.last_success_at ?? 'never'})`;
    await this.fleet.setAlert(hostId, kind, true, message, severity);
  }

  private async item(p: CopyPolicyRow, hostId: string, sourceIsPrimary: boolean): Promise<HostCopyStatusItem> {
    const q = this.d.repos.copies;
    const now = this.d.now();
    const [run, source, target, lastBackup] = await Promise.all([
      q.findRun(p.id, hostId), this.d.repos.repos.findById(p.source_repository_id), this.d.repos.repos.findById(p.target_repository_id),
      this.d.repos.jobs.lastBackupInto(hostId, p.source_repository_id, sourceIsPrimary),
    ]);
    const uncopied = run?.last_success_at ? await q.firstBackupAfter(hostId, p.source_repository_id, sourceIsPrimary, run.last_success_at) : null;
    const intervals = (await q.backupSchedules(hostId, p.source_repository_id, sourceIsPrimary)).map((s) => cronInterval(s.cron_expr, s.time_zone, now) ?? 0);
    if (p.mode === 'schedule' && p.cron_expr) intervals.push(cronInterval(p.cron_expr, p.time_zone, now) ?? 0);
    return {
      policy_id: p.id, source_repository_id: p.source_repository_id, target_repository_id: p.target_repository_id,
      state: copyState(run, uncopied, now, copyGraceMs(intervals)),
      offsite: !!source && !!target && isOffsite(source, target),
      last_backup_at: lastBackup, last_copy_at: run?.last_copy_at ?? null, last_success_at: run?.last_success_at ?? null, last_error: run?.last_error ?? null,
    };
  }
}
