import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentialSecrets, type ControlPlaneBackupSettings, type ControlPlaneBackupView } from '@restic-manager/protocol';
import { backupControlPlane, parseRecipients, type ControlPlaneBackupOptions, type ControlPlaneBackupResult } from '../controlplane/backup.js';
import { resticEnv } from '../controlplane/repository-export.js';
import type { ServerPaths } from '../controlplane/store-access.js';
import type { ControlPlaneBackupRow } from '../repositories/control-plane-backup.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError } from './errors.js';
import type { FleetService } from './fleet.service.js';
import { nextFireAfter, nextRuns } from './overdue.js';
import { backendOf, openRepository } from './repository-config.js';

/** The alert a failed control-plane backup raises (resolved by the next success). */
export const CONTROL_PLANE_ALERT = 'control_plane_backup_failed';
/** Backends restic reaches from the server with environment variables alone. */
const SERVER_BACKENDS = ['local', 'rest', 's3', 'b2', 'azure'];
/** A claim older than this belongs to a process that died mid-run: the next run takes it over. */
const STALE_CLAIM_MS = 6 * 3600_000;

/** What runs one backup (the real one by default; a test may wrap it). */
export type ControlPlaneBackupRunner = (o: ControlPlaneBackupOptions) => Promise<ControlPlaneBackupResult>;

/**
 * Settings → Control-plane backup (issue 20, docs/operations.md): the setting, "Run now", the
 * scheduled fire (ControlPlaneBackupScheduler, under the `control-plane-backup` lease) and the
 * last run. A run is `restic-manager server backup` into one of the server's Repository objects;
 * its password and keys are opened from that object only for restic's environment and never
 * appear in a view, an audit row, a log line or a recorded error.
 */
export class ControlPlaneBackupService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
    /** Where this server keeps its state; null = unknown (services built without a data directory): a run fails saying so. */
    private readonly paths: ServerPaths | null,
    private readonly runner: ControlPlaneBackupRunner = backupControlPlane,
  ) {}

  async get(): Promise<ControlPlaneBackupView> {
    return this.view(await this.d.repos.controlPlaneBackup.get());
  }

  /** Replaces the setting; refusals name the field and nothing is written before they pass. */
  async update(actor: Actor, s: ControlPlaneBackupSettings): Promise<ControlPlaneBackupView> {
    try {
      if (nextRuns(s.cron_expr, s.time_zone, 1, new Date(this.d.now())).length === 0) throw new Error('this expression never fires again');
    } catch (e) {
      throw new DomainError('validation_failed', `cron_expr: ${(e as Error).message}`, { cron_expr: (e as Error).message });
    }
    if (s.repository_id !== null) await this.usableRepository(s.repository_id);
    else if (s.enabled) throw new DomainError('validation_failed', 'repository_id: choose a repository before enabling the schedule', { repository_id: 'required when enabled' });
    try {
      parseRecipients(s.recipients);
    } catch (e) {
      throw new DomainError('validation_failed', `recipients: ${(e as Error).message}`, { recipients: (e as Error).message });
    }
    const at = iso(this.d.now());
    await this.d.repos.controlPlaneBackup.saveSettings({
      enabled: s.enabled ? 1 : 0, cron_expr: s.cron_expr, time_zone: s.time_zone, repository_id: s.repository_id,
      recipients: JSON.stringify(s.recipients), include_key: s.include_key ? 1 : 0, updated_at: at,
    });
    await this.audit.record(actor, 'control_plane_backup.update', { kind: 'control_plane_backup', id: 'settings' }, {
      enabled: s.enabled, cron_expr: s.cron_expr, time_zone: s.time_zone, repository_id: s.repository_id, recipients: s.recipients.length, include_key: s.include_key,
    });
    return this.get();
  }

  /** "Run now": runs the backup and answers once it ended (its outcome is in `last_run`). */
  async runNow(actor: Actor): Promise<ControlPlaneBackupView> {
    const row = await this.d.repos.controlPlaneBackup.get();
    if (!row.repository_id) throw new DomainError('invalid_state', 'repository_id: choose a repository for the control-plane backup first', { repository_id: 'not set' });
    if (!(await this.run(actor, 'manual'))) throw new DomainError('conflict', 'a control-plane backup is running already; wait for it to end');
    return this.get();
  }

  /**
   * The scheduler's tick: runs once when a fire time lies after the last run's start (or the
   * setting's last change, whichever is later) and at or before `now`. Counted from the database,
   * not from this process's ticks: a process that takes the lease over fires a time the old holder
   * missed, and one back from downtime catches up once (not once per missed time). Returns whether it ran.
   */
  async fireDue(now: number): Promise<boolean> {
    const row = await this.d.repos.controlPlaneBackup.get();
    // A run holds the claim (a claim older than STALE_CLAIM_MS is a dead process's: run() takes it over).
    if (!row.enabled || (row.running_since !== null && row.running_since >= iso(now - STALE_CLAIM_MS))) return false;
    const ref = [row.last_started_at, row.updated_at].filter((x): x is string => x !== null).sort().at(-1);
    if (!ref) return false;
    const next = nextFireAfter(row.cron_expr, row.time_zone, new Date(ref));
    if (!next || next.getTime() > now) return false;
    return this.run({ kind: 'system' }, 'schedule');
  }

  /** One run under the claim; false when another run holds it. Never throws for a failed backup: it is recorded. */
  private async run(actor: Actor, trigger: 'schedule' | 'manual'): Promise<boolean> {
    const started = this.d.now();
    const claimedAt = iso(started);
    if (!(await this.d.repos.controlPlaneBackup.claim(claimedAt, iso(started - STALE_CLAIM_MS)))) return false;
    const t0 = Date.now();
    let result: ControlPlaneBackupResult | null = null;
    let error: string | null = null;
    let secrets: string[] = [];
    try {
      const row = await this.d.repos.controlPlaneBackup.get();
      const prepared = await this.prepare(row);
      secrets = prepared.secrets;
      try {
        result = await this.runner({ ...prepared.options, recipients: JSON.parse(row.recipients) as string[], includeKey: row.include_key === 1 });
      } finally {
        prepared.cleanup();
      }
    } catch (e) {
      error = redact(e instanceof DomainError ? e.message : `${(e as Error).message}`, secrets);
    }
    const finished = this.d.now();
    const duration = Date.now() - t0;
    await this.d.repos.controlPlaneBackup.finish(claimedAt, {
      last_started_at: claimedAt, last_finished_at: iso(finished), last_status: result ? 'succeeded' : 'failed', last_trigger: trigger,
      last_snapshot_id: result?.snapshot_id ?? null, last_error: error, last_duration_ms: duration, ...(result ? { last_success_at: iso(finished) } : {}),
    });
    await this.audit.record(actor, 'control_plane_backup.run', { kind: 'control_plane_backup', id: 'settings' }, {
      trigger, status: result ? 'succeeded' : 'failed', snapshot_id: result?.snapshot_id ?? null, duration_ms: duration,
    });
    if (result) this.d.log.info({ snapshot_id: result.snapshot_id, trigger, duration_ms: duration }, 'control-plane backup succeeded');
    else this.d.log.warn({ trigger, err: error }, 'control-plane backup failed');
    await this.fleet.setFleetAlert(CONTROL_PLANE_ALERT, !result, `The control-plane backup failed: ${error ?? ''}`.slice(0, 1000));
    return true;
  }

  /** restic's environment from the chosen repository (a CA file in a private temp directory when it has one). */
  private async prepare(row: ControlPlaneBackupRow): Promise<{ options: Pick<ControlPlaneBackupOptions, 'paths' | 'target'>; secrets: string[]; cleanup: () => void }> {
    if (!this.paths) throw new DomainError('invalid_state', 'this server process does not know its data directory, so it cannot back it up');
    if (!row.repository_id) throw new DomainError('invalid_state', 'repository_id: no repository is chosen (it may have been deleted)');
    const repo = await this.usableRepository(row.repository_id);
    const opened = await openRepository(this.d.repos.repos, this.d.box, repo);
    if (!opened.password) throw new DomainError('invalid_state', `repository ${repo.name} has no password stored`);
    const secrets = credentialSecrets(opened.credentials, opened.password);
    const { env } = resticEnv(repo.url, opened.password, opened.credentials);
    let dir: string | null = null;
    const args: string[] = [];
    if (opened.credentials?.backend === 's3' && opened.credentials.path_style) args.push('-o', 's3.bucket-lookup=path');
    if (repo.tls_ca_pem) {
      dir = mkdtempSync(path.join(os.tmpdir(), 'rm-cp-ca-'));
      const file = path.join(dir, 'ca.pem');
      writeFileSync(file, repo.tls_ca_pem, { mode: 0o600 });
      args.push('--cacert', file);
    }
    return {
      options: { paths: this.paths, target: { env, args } }, secrets,
      cleanup: () => {
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  /** The repository row when the server can run restic against it; refusals name repository_id. */
  private async usableRepository(id: string) {
    const repo = await this.d.repos.repos.findById(id);
    if (!repo) throw new DomainError('validation_failed', `repository_id: no repository ${id}`, { repository_id: 'unknown repository' });
    const backend = backendOf(repo);
    if (!backend || !SERVER_BACKENDS.includes(backend)) {
      throw new DomainError('validation_failed', `repository_id: the server runs restic itself and reaches ${SERVER_BACKENDS.join(', ')} repositories; ${repo.name} is ${backend || 'of an unknown backend'}`, { repository_id: 'backend not reachable from the server' });
    }
    return repo;
  }

  private async view(r: ControlPlaneBackupRow): Promise<ControlPlaneBackupView> {
    const repo = r.repository_id ? await this.d.repos.repos.findById(r.repository_id) : undefined;
    const next = r.enabled ? nextFireAfter(r.cron_expr, r.time_zone, new Date(this.d.now())) : null;
    return {
      enabled: r.enabled === 1, cron_expr: r.cron_expr, time_zone: r.time_zone, repository_id: r.repository_id, repository_name: repo?.name ?? null,
      recipients: JSON.parse(r.recipients) as string[], include_key: r.include_key === 1, next_run_at: next ? next.toISOString() : null,
      running_since: r.running_since,
      last_run: r.last_started_at && r.last_finished_at && (r.last_status === 'succeeded' || r.last_status === 'failed') ? {
        started_at: r.last_started_at, finished_at: r.last_finished_at, status: r.last_status, trigger: r.last_trigger === 'manual' ? 'manual' : 'schedule',
        snapshot_id: r.last_snapshot_id, error: r.last_error, duration_ms: r.last_duration_ms ?? 0,
      } : null,
      last_success_at: r.last_success_at, updated_at: r.updated_at,
    };
  }
}

/** The text without any of the secrets (defence in depth: restic may echo a URL with a login), at most 2000 characters. */
function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]').split(encodeURIComponent(s)).join('[redacted]');
  return out.slice(0, 2000);
}
