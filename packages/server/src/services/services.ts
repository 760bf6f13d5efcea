import { ReportQuarantineService } from './report-quarantine.service.js';
import { TargetGuard } from './notify/target-guard.js';
import { AgentEventsService } from './agent-events.service.js';
import { AlertRulesService } from './alert-rules.service.js';
import { AgentRequests } from './agent-requests.js';
import { AgentJobRate } from './agent-job-limits.js';
import { ApiTokenService } from './api-token.service.js';
import { TotpPolicy } from './totp-policy.js';
import { TotpService } from './totp.service.js';
import { AuditService } from './audit.service.js';
import { AuthService } from './auth.service.js';
import type { AuthOptions } from './auth.service.js';
import type { ServiceDeps } from './context.js';
import { EnrollmentService } from './enrollment.service.js';
import { FleetService } from './fleet.service.js';
import { HostService } from './host.service.js';
import { JobHub } from './job-hub.js';
import { JobService } from './job.service.js';
import { JOB_LOG_LIMITS, JobLogQuota } from './job-log-quota.js';
import type { JobLogLimits } from './job-log-quota.js';
import { MaintenanceScheduler } from './maintenance-scheduler.js';
import { MaintenanceService } from './maintenance.service.js';
import { NotificationService } from './notification.service.js';
import { Notifier } from './notify/notifier.js';
import { SchedulePings } from './schedule-pings.js';
import type { NotifierOptions } from './notify/notifier.js';
import { RestoreService } from './restore.service.js';
import { RestoreCredentials } from './restore-credentials.service.js';
import { VaultDrillService } from './vault-drill.service.js';
import { RestoreDrillService } from './restore-drill.service.js';
import { HostDrillService } from './host-drills.service.js';
import { DbRestoreService } from './db-restore.service.js';
import { ScheduleService } from './schedule.service.js';
import { SnapshotBrowseService } from './snapshot-browse.service.js';
import { SnapshotDiffService } from './snapshot-diff.service.js';
import { ForgetPreviewService } from './forget-preview.service.js';
import { TrendService } from './trends.js';
import { AgentVersionService } from './agent-version.service.js';
import { VaultService } from './vault.service.js';
import { RepositoryService } from './repository.service.js';
import { SnapshotLedgerService } from './snapshot-ledger.service.js';
import { repositoryConfigOf } from './repository-config.js';
import { CopyPolicyService } from './copy-policy.service.js';
import { CopyScheduler } from './copy-scheduler.js';
import { CopyStatusService } from './copy-status.service.js';
import { Leases } from './leases.js';
import { DownloadService } from './download.service.js';
import type { ReplicaDownloads } from './download.service.js';
import { DownloadStreams } from './download-streams.js';
import type { StreamTimeouts } from './download-streams.js';
import { DEFAULT_DOWNLOAD_MAX_BYTES } from '../config.js';
import type { ServerPaths } from '../controlplane/store-access.js';
import { ControlPlaneBackupService } from './control-plane-backup.service.js';
import { TagWindowsService } from './tag-windows.service.js';
import type { ControlPlaneBackupRunner } from './control-plane-backup.service.js';
import { ControlPlaneBackupScheduler } from './control-plane-backup-scheduler.js';
import { HostScope } from './host-scope.js';
import { SlotService } from './slot.service.js';
import type { SlotOptions } from './slot.service.js';
import { CapService } from './cap.service.js';

/** Every service, wired by hand. The HTTP/WS edges and the web UI receive this bundle. */
export interface Services {
  /** This process's leases on fleet-wide periodic work (released at shutdown). */
  leases: Leases;
  audit: AuditService;
  auth: AuthService;
  /** Issue 21: API tokens and service accounts (bearer auth of the REST API). */
  tokens: ApiTokenService;
  /** Issue 21: the one host-tag scope check for scoped users and scoped API tokens. */
  scope: HostScope;
  /** Issue 21: TOTP second factor (enrolment, sign-in challenge, per-role requirement). */
  totp: TotpService;
  hosts: HostService;
  enrollment: EnrollmentService;
  jobs: JobService;
  schedules: ScheduleService;
  fleet: FleetService;
  agentEvents: AgentEventsService;
  /** Issue 22: agent reports that can never be stored, set aside instead of replayed forever. */
  quarantine: ReportQuarantineService;
  hub: JobHub;
  /** Issue 6: maintenance credential, host default hooks, locks. */
  maintenance: MaintenanceService;
  /** Issue 6: the server-side clock of forget/prune schedules (started by startServer). */
  maintenanceScheduler: MaintenanceScheduler;
  /** Alert triggers and thresholds (spec §9); its periodic tick is started by startServer. */
  alertRules: AlertRulesService;
  /** Notification channels (admin CRUD, Send test). */
  notifications: NotificationService;
  /** Asynchronous delivery of alert changes to the channels, with retries. */
  notifier: Notifier;
  /** Issue 21: Healthchecks-style pings of schedules' jobs. */
  pings: SchedulePings;
  /** Restore wizard: snapshot browsing through the agent, and (cross-host) restore submit. */
  browse: SnapshotBrowseService;
  restore: RestoreService;
  /** A cross-host restore's one-job credential: issued at dispatch, removed (and retried) after the job. */
  restoreCredentials: RestoreCredentials;
  /** Issue 16: "what changed" between two snapshots, through the host's agent. */
  diff: SnapshotDiffService;
  /** Issue 16: what a retention policy would keep and remove (forget --dry-run on the host). */
  forgetPreview: ForgetPreviewService;
  /** Request frames to agents (snapshot.ls, repo.key.*) and their answers. */
  requests: AgentRequests;
  /** Database restore: a dump snapshot into a database server (db_restore jobs). */
  dbRestore: DbRestoreService;
  /** Repository trends (size, snapshots, dedup, per-backup figures); its hourly compaction is started by startServer. */
  trends: TrendService;
  /** Agent versions against the server's ("N versions behind") and the update notice. */
  agentVersions: AgentVersionService;
  /** Vault targets of hosts (docs/vault.md "Fleet"). */
  vaults: VaultService;
  /** Repositories as their own objects: CRUD, host links, connection test (issue 15). */
  repositories: RepositoryService;
  /** Copy policies (3-2-1): CRUD, run now, copies after backups (issue 15, docs/copies.md). */
  copies: CopyPolicyService;
  /** The 3-2-1 status of hosts and the copy_failed / copy_behind alerts. */
  copyStatus: CopyStatusService;
  /** The server-side clock of scheduled copies and of the copy_behind evaluation (started by startServer). */
  copyScheduler: CopyScheduler;
  /** The snapshot ledger and repository freezes (issue 16, docs/recoverability.md). */
  ledger: SnapshotLedgerService;
  /** Restore drills: run now, scheduled fires, the last proven restore (issue 16). */
  drills: RestoreDrillService;
  /** Vault drills on hosts trusted for them (issue 16, docs/recoverability.md "Vault drills"). */
  vaultDrills: VaultDrillService;
  hostDrills: HostDrillService;
  /** Downloads from a snapshot to the browser, streamed by the agent (issue 16, docs/recoverability.md). */
  downloads: DownloadService;
  /** Settings → Control-plane backup: the setting, run now, the last run (issue 20, docs/operations.md). */
  controlPlaneBackup: ControlPlaneBackupService;
  /** Its server-side clock under the `control-plane-backup` lease (started by startServer). */
  controlPlaneBackupScheduler: ControlPlaneBackupScheduler;
  /** Backup windows per host tag (issue 21, docs/schedules.md). */
  tagWindows: TagWindowsService;
  /** Issue 21: concurrency slots (its lease renewal tick is started by startServer). */
  slots: SlotService;
  /** Issue 21: concurrency caps (admin) and the queue view. */
  caps: CapService;
}

/** The control-plane backup: where this server keeps its state (null: unknown, runs fail saying so). */
export interface ControlPlaneOptions {
  paths?: ServerPaths | null;
  runner?: ControlPlaneBackupRunner;
  /** The scheduler's tick (default 5 s). */
  tickMs?: number;
}

/** Downloads: RM_DOWNLOAD_MAX_BYTES and the stream timeouts (tests shorten them). */
export interface DownloadOptions {
  maxBytes?: number;
  timeouts?: StreamTimeouts;
  /** Several replicas: downloads of agents held by another replica go through it (docs/scale-out.md). */
  replicas?: ReplicaDownloads;
}

/** Alerting knobs (tests shorten them). */
export interface AlertingOptions {
  notifier?: NotifierOptions;
  /** Period of the agent_offline / backup_overdue evaluation (default 30 s). */
  alertTickMs?: number;
  /** RM_NOTIFY_ALLOW_PRIVATE: HTTP channels and schedule pings may target loopback and private addresses (default false). */
  notifyAllowPrivate?: boolean;
}

export function createServices(d: ServiceDeps, auth: AuthOptions, alerting: AlertingOptions = {}, logLimits: JobLogLimits = JOB_LOG_LIMITS, download: DownloadOptions = {}, controlPlane: ControlPlaneOptions = {}, slotOptions: SlotOptions = {}): Services {
  // Built in dependency order: each service receives every collaborator in its constructor.
  const hub = new JobHub(d.bus, d.busPeers);
  // Periodic work that must run once per fleet takes a lease first (several server processes on one database).
  const leases = new Leases(d.db, (name, e) => d.log.warn({ lease: name, err: e.message }, 'lease could not be taken or renewed; this process skips that work'));
  const audit = new AuditService(d);
  const totpPolicy = new TotpPolicy(d.repos.totp, d.now);
  const authService = new AuthService(d, audit, auth, totpPolicy);
  const hosts = new HostService(d, audit);
  const slots = new SlotService(d, slotOptions);
  const targetGuard = new TargetGuard(alerting.notifyAllowPrivate ?? false);
  // Schedule pings (issue 21) travel through the notifier's durable outbox, which sends them back through `pings.deliver`.
  const notifier: Notifier = new Notifier(d, targetGuard, alerting.notifier, (row, o) => pings.deliver(row, o));
  const pings = new SchedulePings(d, targetGuard, audit, () => notifier.wakeUp(), alerting.notifier?.timeoutMs);
  const schedules = new ScheduleService(d, audit, pings, slots);
  // A host's tag windows come with its tags (issue 21): a change that adds or drops a tag with windows pushes schedule.set.
  hosts.onTagsChanged(async (id, from, to) => {
    if ((await d.repos.tagWindows.forTags([...new Set([...from, ...to])])).length > 0) await schedules.repush([id]);
  });
  const maintenance = new MaintenanceService(d, audit, schedules);
  const vaults = new VaultService(d, audit);
  const trends = new TrendService(d, leases);
  const fleet = new FleetService(d, audit, (c) => notifier.alertChanged(c));
  const alertRules = new AlertRulesService(d, audit, fleet, alerting.alertTickMs, leases);
  const requests = new AgentRequests(d.agents, async (id) => (await d.repos.hosts.findById(id))?.name ?? id, d.bus);
  const browse = new SnapshotBrowseService(d, requests);
  const restoreCredentials = new RestoreCredentials(d, audit, hosts, requests, maintenance);
  const downloads = new DownloadService(d, audit, browse, new DownloadStreams(d.agents, download.timeouts), download.maxBytes ?? DEFAULT_DOWNLOAD_MAX_BYTES, download.replicas ?? null);
  const ledger = new SnapshotLedgerService(d, audit, fleet);
  const jobs = new JobService(d, audit, hub, {
    maintenance, restoreCredentials, vaults, repositories: { configOf: (id, r) => repositoryConfigOf(r.repos, d.box, id) }, ledger, slots,
  });
  // A job's end frees its slot; a granted server job is sent.
  jobs.onEnded((job) => slots.release(job.id));
  slots.onGranted((jobId) => jobs.dispatchQueued(jobId));
  const restore = new RestoreService(d, audit, jobs, hosts, browse, requests, maintenance, restoreCredentials);
  const agentEvents = new AgentEventsService(d, audit, hub, hosts, jobs, schedules, {
    rules: alertRules, requests, trends, vaults, onHello: (hostId) => restoreCredentials.retryRevocations(hostId),
    jobRate: new AgentJobRate(d.now), logQuota: new JobLogQuota((id) => d.repos.jobs.logUsage(id), logLimits), ledger, downloads, slots,
    jobStarted: (jobId) => pings.jobStarted(jobId),
  });
  jobs.onEnded((job) => pings.jobEnded(job));
  const repositories = new RepositoryService(d, audit, hosts, requests, jobs);
  const drills = new RestoreDrillService(d, jobs, restore, alertRules);
  jobs.onEnded((job) => drills.jobEnded(job));
  const vaultDrills = new VaultDrillService(d, audit, jobs);
  // A restore_drill schedule (and a drill by tag) drills the host's repositories and, with a vault target, its vault on a trusted host.
  const hostDrills = new HostDrillService(d, drills, vaultDrills);
  const maintenanceScheduler = new MaintenanceScheduler(d, audit, jobs, maintenance, vaults, ledger, hostDrills, leases);
  const copyStatus = new CopyStatusService(d, fleet);
  const copies = new CopyPolicyService(d, audit, jobs, copyStatus);
  jobs.onEnded((job) => copies.jobEnded(job));
  const copyScheduler = new CopyScheduler(d, copies, copyStatus, undefined, undefined, leases);
  const controlPlaneBackup = new ControlPlaneBackupService(d, audit, fleet, controlPlane.paths ?? null, controlPlane.runner);
  const controlPlaneBackupScheduler = new ControlPlaneBackupScheduler(d, controlPlaneBackup, leases, controlPlane.tickMs);
  return {
    slots,
    caps: new CapService(d, audit, slots, schedules),
    leases,
    tagWindows: new TagWindowsService(d, audit, schedules),
    controlPlaneBackup,
    controlPlaneBackupScheduler,
    drills,
    vaultDrills,
    hostDrills,
    downloads,
    copies,
    copyStatus,
    copyScheduler,
    repositories,
    ledger,
    trends,
    agentVersions: new AgentVersionService(d, audit, agentEvents),
    vaults,
    alertRules,
    notifications: new NotificationService(d, audit, notifier, targetGuard),
    notifier,
    pings,
    browse,
    restore,
    restoreCredentials,
    diff: new SnapshotDiffService(d, requests),
    forgetPreview: new ForgetPreviewService(d, requests),
    requests,
    dbRestore: new DbRestoreService(d, jobs),
    maintenance,
    maintenanceScheduler,
    audit,
    auth: authService,
    totp: new TotpService(d, audit, authService, totpPolicy),
    tokens: new ApiTokenService(d, audit),
    scope: new HostScope(d, audit),
    hosts,
    enrollment: new EnrollmentService(d, audit),
    jobs,
    schedules,
    fleet,
    agentEvents,
    quarantine: new ReportQuarantineService(d, audit, fleet),
    hub,
  };
}
