import type { AlertSettings, RepoStats } from '@restic-manager/protocol';
import { AlertRuleRepository } from '../repositories/alert-rule.repository.js';
import { MaintenanceRepository } from '../repositories/maintenance.repository.js';
import { NotificationRepository } from '../repositories/notification.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError } from './errors.js';
import type { FleetService } from './fleet.service.js';
import { overdueSince } from './overdue.js';

/** Thresholds used until an admin saves others. */
export const DEFAULT_ALERT_SETTINGS: Readonly<AlertSettings> = { agent_offline_minutes: 15, backup_overdue_hours: 2, repo_growth_percent: 50 };

const bytes = (n: number): string => {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? String(v) : v.toFixed(1)} ${u[i] ?? 'B'}`;
};
const firstLine = (s: string | null | undefined): string => (s ?? '').split('\n')[0]?.slice(0, 200) ?? '';

/**
 * The alert triggers of spec §9 and their thresholds. Event-driven ones run as agent frames are
 * applied (check_failed on job.finished / repo.stats, repo_growth on repo.stats); the periodic
 * ones (agent_offline, backup_overdue) run in `tick()`, every 30 s once started, against the
 * injectable clock `d.now`. Every trigger raises once and resolves itself when its condition
 * clears (FleetService.setAlert). Evaluation failures are logged, never thrown into the caller.
 */
export class AlertRulesService {
  private readonly q: AlertRuleRepository;
  private readonly settingsRepo: NotificationRepository;
  private readonly schedules: MaintenanceRepository;
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
    private readonly tickMs = 30_000,
  ) {
    this.q = new AlertRuleRepository(d.db);
    this.settingsRepo = new NotificationRepository(d.db);
    this.schedules = new MaintenanceRepository(d.db);
    this.startedAt = d.now();
  }

  async settings(): Promise<AlertSettings & { updated_at: string | null }> {
    const row = await this.settingsRepo.settings();
    if (!row) return { ...DEFAULT_ALERT_SETTINGS, updated_at: null };
    return { agent_offline_minutes: row.agent_offline_minutes, backup_overdue_hours: row.backup_overdue_hours, repo_growth_percent: row.repo_growth_percent, updated_at: row.updated_at };
  }

  /** Changes thresholds (admin only); audited with the old and new values. */
  async updateSettings(actor: Actor, patch: Partial<AlertSettings>): Promise<AlertSettings & { updated_at: string | null }> {
    if (!(actor.kind === 'user' && actor.role === 'admin')) throw new DomainError('forbidden', 'only admins may change alert rules');
    const { updated_at: _u, ...from } = await this.settings();
    const to: AlertSettings = { ...from, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    const at = iso(this.d.now());
    await this.settingsRepo.saveSettings({ ...to, updated_at: at });
    await this.audit.record(actor, 'alert_settings.update', { kind: 'settings', id: 'alerts' }, { from, to });
    return { ...to, updated_at: at };
  }

  /** check_failed from a finished check job: raised when it failed, resolved when one succeeds. */
  async jobFinished(hostId: string, job: { id: string; kind: string }, f: { status: string; error?: string | null; error_kind?: string | null }): Promise<void> {
    if (job.kind !== 'check' || f.status === 'cancelled') return;
    await this.safely('check_failed', async () => {
      const name = (await this.q.hostName(hostId)) ?? hostId;
      const why = firstLine(f.error) || f.error_kind || 'failed';
      await this.fleet.setAlert(hostId, 'check_failed', f.status === 'failed', `repository check of ${name} failed (job ${job.id}): ${why}`, 'critical');
    });
  }

  /**
   * From a repo.stats report: check_failed follows `last_check_status`; repo_growth is raised
   * when the size grew by more than the threshold since the previous report (`previousBytes`)
   * and resolved by the next report that does not.
   */
  async repoStats(hostId: string, previousBytes: number | null, f: RepoStats): Promise<void> {
    await this.safely('repo.stats', async () => {
      const name = (await this.q.hostName(hostId)) ?? hostId;
      if (f.last_check_status) {
        await this.fleet.setAlert(hostId, 'check_failed', f.last_check_status === 'failed', `repository check of ${name} reported errors${f.last_check_at ? ` at ${f.last_check_at}` : ''}`, 'critical');
      }
      if (f.size_bytes == null) return;
      const { repo_growth_percent: pct } = await this.settings();
      const grew = previousBytes != null && previousBytes > 0 && f.size_bytes > previousBytes * (1 + pct / 100);
      const by = previousBytes ? Math.round(((f.size_bytes - previousBytes) / previousBytes) * 100) : 0;
      await this.fleet.setAlert(hostId, 'repo_growth', grew,
        `repository of ${name} grew ${by}% between two stats reports (${bytes(previousBytes ?? 0)} → ${bytes(f.size_bytes)}; threshold ${pct}%)`, 'warning');
    });
  }

  /** The agent said hello: its agent_offline alert (if any) resolves now rather than at the next tick. */
  async agentOnline(hostId: string): Promise<void> {
    await this.safely('agent_offline', () => this.fleet.setAlert(hostId, 'agent_offline', false, ''));
  }

  /** Evaluates the periodic triggers once (agent_offline, backup_overdue). */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const s = await this.settings();
      await this.safely('agent_offline', () => this.offline(s.agent_offline_minutes));
      await this.safely('backup_overdue', () => this.overdue(s.backup_overdue_hours));
    } finally {
      this.ticking = false;
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Offline longer than `minutes`, counted from the later of its last frame and this server's
   * start (every host is marked offline at start-up; a restart must not page for the whole fleet).
   */
  private async offline(minutes: number): Promise<void> {
    const now = this.d.now();
    for (const h of await this.q.enrolledHosts()) {
      if (h.status !== 'offline') {
        await this.fleet.setAlert(h.id, 'agent_offline', false, '');
        continue;
      }
      const since = Math.max(h.last_seen_at ? Date.parse(h.last_seen_at) : 0, this.startedAt);
      const away = now - since;
      if (away <= minutes * 60_000) continue;
      const seen = h.last_seen_at ? `last seen ${h.last_seen_at}` : 'never seen';
      await this.fleet.setAlert(h.id, 'agent_offline', true, `agent of ${h.name} has been offline for ${Math.floor(away / 60_000)} minutes (${seen}; threshold ${minutes} min)`, 'warning');
    }
  }

  /**
   * A backup schedule is overdue when its first fire time after its last successful backup (or
   * its last edit) lies more than `hours` in the past and no job of it is queued or running.
   * One alert per host, naming the first overdue schedule; resolved when none is.
   */
  private async overdue(hours: number): Promise<void> {
    const now = this.d.now();
    const rows = await this.schedules.enabledSchedules(['backup']);
    const ids = rows.map((r) => r.id);
    const [ok, busy] = await Promise.all([this.q.lastSuccessPerSchedule(ids), this.schedules.busySchedules(ids)]);
    const late = new Map<string, string>();
    for (const s of rows) {
      const missed = overdueSince(s, ok.get(s.id), busy.has(s.id), now, hours * 3_600_000);
      if (missed && !late.has(s.host_id)) {
        const name = (await this.q.hostName(s.host_id)) ?? s.host_id;
        const last = ok.get(s.id);
        late.set(s.host_id, `backup schedule "${s.cron_expr}" of ${name} has not produced a successful backup since it was due at ${missed.toISOString()} (${last ? `last success ${last}` : 'no success yet'}; threshold ${hours} h)`);
      }
    }
    for (const [hostId, message] of late) await this.fleet.setAlert(hostId, 'backup_overdue', true, message, 'warning');
    for (const a of await this.d.repos.alerts.openByKind('backup_overdue')) {
      if (a.host_id && !late.has(a.host_id)) await this.fleet.setAlert(a.host_id, 'backup_overdue', false, '');
    }
  }

  private async safely(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.d.log.error({ err: (e as Error).message, rule: what }, 'alert rule evaluation failed');
    }
  }
}
