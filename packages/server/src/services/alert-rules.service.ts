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
import { targetOfKind, targetOfMessage } from './backup-targets.js';
import { SERVER_FIRED_VAULT_KINDS } from './maintenance-scheduler.js';
import { TargetAlerts } from './target-alerts.js';
import { ALWAYS_HELD } from './leases.js';
import type { LeaseHolder } from './leases.js';
import { OneAtATime, Ticker } from './ticker.js';

/** Thresholds used until an admin saves others. */
export const DEFAULT_ALERT_SETTINGS: Readonly<AlertSettings> = { agent_offline_minutes: 15, backup_overdue_hours: 2, repo_growth_percent: 50, restore_unproven_days: 7 };

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

/**
 * The alert triggers of spec §9 and their thresholds. Event-driven ones run as agent frames are
 * applied (check_failed on job.finished / repo.stats, repo_growth on repo.stats); the periodic
 * ones (agent_offline, backup_overdue) run in `tick()`, every 30 s once started, against the
 * injectable clock `d.now`. Every trigger raises once and resolves itself when its condition
 * clears (FleetService.setAlert). Evaluation failures are logged, never thrown into the caller.
 */
/** Jobs whose failure raises restore_failed. */
const RESTORE_KINDS: ReadonlySet<string> = new Set(['restore', 'db_restore']);

export class AlertRulesService {
  private readonly q: AlertRuleRepository;
  private readonly settingsRepo: NotificationRepository;
  private readonly schedules: MaintenanceRepository;
  private readonly targets: TargetAlerts;
  private readonly startedAt: number;
  private readonly ticker: Ticker;
  /** One evaluation at a time: one asked for while another runs waits for it, then evaluates afresh. */
  private readonly once = new OneAtATime();

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
    private readonly tickMs = 30_000,
    /** The `alert-rules` lease: only its holder evaluates the periodic triggers (several server processes, issue 17). */
    private readonly leases: LeaseHolder = ALWAYS_HELD,
  ) {
    this.ticker = new Ticker(() => this.tick(), this.tickMs);
    this.q = new AlertRuleRepository(d.db);
    this.settingsRepo = new NotificationRepository(d.db);
    this.schedules = new MaintenanceRepository(d.db);
    this.targets = new TargetAlerts(fleet, d.repos.alerts, this.q);
    this.startedAt = d.now();
  }

  async settings(): Promise<AlertSettings & { updated_at: string | null }> {
    const row = await this.settingsRepo.settings();
    if (!row) return { ...DEFAULT_ALERT_SETTINGS, updated_at: null };
    return { agent_offline_minutes: row.agent_offline_minutes, backup_overdue_hours: row.backup_overdue_hours, repo_growth_percent: row.repo_growth_percent, restore_unproven_days: row.restore_unproven_days, updated_at: row.updated_at };
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

  /**
   * backup_failed from a finished backup or vault_backup job, check_failed from a check or
   * vault_check job: raised when it failed, resolved when the same target succeeds
   * (TargetAlerts). The message carries the job's error kind and its last meaningful line
   * (failedJobMessage). A cancelled job changes nothing.
   */
  async jobFinished(hostId: string, job: { id: string; kind: string }, f: { status: string; error?: string | null; error_kind?: string | null }): Promise<void> {
    if (RESTORE_KINDS.has(job.kind)) return this.restoreFinished(hostId, job, f);
    const target = targetOfKind(job.kind);
    if (!target || f.status === 'cancelled') return;
    const kind = job.kind.endsWith('backup') ? 'backup_failed' : 'check_failed';
    await this.safely(kind, async () => {
      const name = (await this.q.hostName(hostId)) ?? hostId;
      const failed = f.status === 'failed';
      const message = failed ? await this.targets.failedMessage(kind, target, name, { id: job.id, status: f.status, error: f.error ?? null, error_kind: f.error_kind ?? null }) : '';
      await this.targets.outcome(hostId, kind, target, failed, message);
    });
  }

  /**
   * restore_failed (critical) from a failed restore or database restore, naming the job, its
   * error kind and its summary (which files, and that they were removed); resolved by the next
   * restore on the host that succeeds. A cancelled restore changes nothing.
   */
  private async restoreFinished(hostId: string, job: { id: string; kind: string }, f: { status: string; error?: string | null; error_kind?: string | null }): Promise<void> {
    if (f.status === 'cancelled') return;
    await this.safely('restore_failed', async () => {
      const name = (await this.q.hostName(hostId)) ?? hostId;
      const what = job.kind === 'db_restore' ? 'database restore' : 'restore';
      const message = `${what} job ${job.id} on ${name} failed (${f.error_kind ?? 'failed'}): ${f.error ?? 'no reason given'}`;
      await this.fleet.setAlert(hostId, 'restore_failed', f.status === 'failed', message, 'critical');
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
        await this.targets.outcome(hostId, 'check_failed', 'restic', f.last_check_status === 'failed', `repository check of ${name} reported errors${f.last_check_at ? ` at ${f.last_check_at}` : ''}`);
      }
      if (f.size_bytes == null) return;
      const { repo_growth_percent: pct } = await this.settings();
      const grew = previousBytes != null && previousBytes > 0 && f.size_bytes > previousBytes * (1 + pct / 100);
      const by = previousBytes ? Math.round(((f.size_bytes - previousBytes) / previousBytes) * 100) : 0;
      await this.fleet.setAlert(hostId, 'repo_growth', grew,
        `repository of ${name} grew ${by}% between two stats reports (${bytes(previousBytes ?? 0)} → ${bytes(f.size_bytes)}; threshold ${pct}%)`, 'warning');
    });
  }

  /**
   * restore_drill_failed (critical) from a finished restore drill of `hostId` (issue 16), naming
   * the drill job, the host it ran on and the drill's reason (which file, and why); resolved by
   * the next drill of the host that succeeds. A cancelled drill changes nothing.
   */
  async drillFinished(hostId: string, drill: { job_id: string; status: string; error: string | null; drillHost: string }): Promise<void> {
    if (drill.status === 'cancelled') return;
    await this.safely('restore_drill_failed', async () => {
      const name = (await this.q.hostName(hostId)) ?? hostId;
      const on = drill.drillHost === 'itself' ? 'on the host itself' : `on host ${drill.drillHost}`;
      const message = `restore drill job ${drill.job_id} of ${name} (${on}) failed: ${drill.error ?? 'no reason given'}`;
      await this.fleet.setAlert(hostId, 'restore_drill_failed', drill.status === 'failed', message, 'critical');
      if (drill.status === 'succeeded') await this.fleet.setAlert(hostId, 'restore_unproven', false, '');
    });
  }

  /**
   * restore_unproven: a host that is drilled (a restore_drill schedule, or any drill so far) has
   * had no successful drill for more than `days` (counted from the first schedule or drill when
   * none ever succeeded). Resolved by a successful drill or when the host is no longer drilled.
   */
  private async unproven(days: number): Promise<void> {
    const now = this.d.now();
    const since = new Map(await this.d.repos.drills.firstDrillPerHost());
    for (const s of await this.schedules.enabledSchedules(['restore_drill'])) {
      const cur = since.get(s.host_id);
      if (!cur || s.created_at < cur) since.set(s.host_id, s.created_at);
    }
    const proven = new Map((await this.d.repos.drills.latestPerHost()).flatMap((e) => (e.lastSuccess?.finished_at ? [[e.last.host_id, e.lastSuccess.finished_at] as const] : [])));
    const late = new Set<string>();
    for (const [hostId, first] of since) {
      const last = proven.get(hostId);
      const from = Date.parse(last ?? first);
      if (now - from <= days * 86_400_000) continue;
      late.add(hostId);
      const name = (await this.q.hostName(hostId)) ?? hostId;
      await this.fleet.setAlert(hostId, 'restore_unproven', true, `no successful restore drill of ${name} within ${days} days (${last ? `last proven restore ${last}` : 'never proven'})`, 'warning');
    }
    for (const a of await this.d.repos.alerts.openByKind('restore_unproven')) {
      if (a.host_id && !late.has(a.host_id)) await this.fleet.setAlert(a.host_id, 'restore_unproven', false, '');
    }
  }

  /** The agent said hello: its agent_offline alert (if any) resolves now rather than at the next tick. */
  async agentOnline(hostId: string): Promise<void> {
    await this.safely('agent_offline', () => this.fleet.setAlert(hostId, 'agent_offline', false, ''));
  }

  /** Evaluates the periodic triggers once (agent_offline, backup_overdue). */
  async tick(): Promise<void> {
    // Its caller (the timer, a test that moved the clock) gets an evaluation that started after the call.
    await this.once.run(() => this.evaluate());
  }

  private async evaluate(): Promise<void> {
    if (!(await this.leases.held('alert-rules'))) return;
    const s = await this.settings();
    await this.safely('agent_offline', () => this.offline(s.agent_offline_minutes));
    await this.safely('backup_overdue', () => this.overdue(s.backup_overdue_hours));
    await this.safely('restore_unproven', () => this.unproven(s.restore_unproven_days));
  }

  start(): void {
    this.ticker.start();
  }

  stop(): void {
    this.ticker.stop();
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
   * A backup or vault_backup schedule is overdue when its first fire time after its last
   * successful run (or its last edit) lies more than `hours` in the past and no job of it is
   * busy: queued or running for a backup (the agent's own cron), on the agent for a vault backup
   * (fired by the server, whose job waits on the server while the host is away — that is overdue).
   * One alert per host, naming the first overdue schedule; resolved when none is. An open alert
   * about one target whose schedules all caught up while the other's are late is raised anew.
   */
  private async overdue(hours: number): Promise<void> {
    const now = this.d.now();
    const rows = await this.schedules.enabledSchedules(['backup', 'vault_backup']);
    const ids = rows.map((r) => r.id);
    const [ok, queuedOrRunning, onAgent] = await Promise.all([this.q.lastSuccessPerSchedule(ids), this.schedules.busySchedules(ids), this.q.withJobOnAgent(ids)]);
    const late = new Map<string, { message: string; targets: Set<string> }>();
    for (const s of rows) {
      const vault = SERVER_FIRED_VAULT_KINDS.includes(s.kind);
      const missed = overdueSince(s, ok.get(s.id), (vault ? onAgent : queuedOrRunning).has(s.id), now, hours * 3_600_000);
      if (!missed) continue;
      const entry = late.get(s.host_id);
      if (entry) {
        entry.targets.add(vault ? 'vault' : 'restic');
        continue;
      }
      const name = (await this.q.hostName(s.host_id)) ?? s.host_id;
      const last = ok.get(s.id);
      const what = vault ? 'vault backup' : 'backup';
      late.set(s.host_id, {
        targets: new Set([vault ? 'vault' : 'restic']),
        message: `${what} schedule "${s.cron_expr}" of ${name} has not produced a successful ${what} since it was due at ${missed.toISOString()} (${last ? `last success ${last}` : 'no success yet'}; threshold ${hours} h)`,
      });
    }
    for (const a of await this.d.repos.alerts.openByKind('backup_overdue')) {
      const still = a.host_id ? late.get(a.host_id) : undefined;
      if (a.host_id && !still?.targets.has(targetOfMessage(a.message))) await this.fleet.setAlert(a.host_id, 'backup_overdue', false, '');
    }
    for (const [hostId, { message }] of late) await this.fleet.setAlert(hostId, 'backup_overdue', true, message, 'warning');
  }

  private async safely(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.d.log.error({ err: (e as Error).message, rule: what }, 'alert rule evaluation failed');
    }
  }
}
