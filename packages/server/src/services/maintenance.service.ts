import { appendOnlyEnforceable } from '@restic-manager/protocol';
import type { JobCredential, JobKind, RepoLockView, RepositoryConfig } from '@restic-manager/protocol';
import type { RepoRow } from '../repositories/repo.repository.js';
import type { JobRow } from '../repositories/job.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import { MaintenanceRepository } from '../repositories/maintenance.repository.js';
import { overdueSince } from './overdue.js';
import { repoLockFields } from './repo-locks.js';
import { cronPreview } from './schedule-preview.js';
import type { CronPreview } from './schedule-preview.js';
import type { ScheduleService } from './schedule.service.js';

/** Job kinds that delete repository data and so need the §7.4 maintenance credential. */
export const MAINTENANCE_KINDS: ReadonlySet<string> = new Set<JobKind>(['forget', 'prune']);

/** What the operator sets: a non-append-only REST user (and optionally its own endpoint URL). */
export interface MaintenanceCredentialInput {
  /** Repository URL of the non-append-only endpoint; default: the host's routine repository URL. */
  url?: string | null | undefined;
  rest_username: string;
  rest_password: string;
}

interface Sealed {
  url: string | null;
  rest_username: string;
  rest_password: string;
}

const isAdmin = (a: Actor): boolean => a.kind === 'user' && a.role === 'admin';

/**
 * Whether deletes with the host's routine credential are refused: the repository is flagged
 * append-only and its backend can enforce that (a REST server). A flag stored for a local path
 * (the default before issue 22) is kept as it is but enforces nothing, so it blocks nothing.
 */
export function enforcedAppendOnly(repo: Pick<RepoRow, 'append_only' | 'url'> | undefined): boolean {
  return repo?.append_only === 1 && appendOnlyEnforceable(repo.url);
}

/** The note a forget/prune carries when the stored append-only flag is ignored. */
export const ignoredFlagNote = (kind: string): string =>
  `the repository is flagged append-only, but its backend cannot enforce that (only a REST server can); ${kind} runs with the host's own credential`;

/**
 * Repository maintenance (spec §7.4, §14.3): the maintenance credential (sealed, admin-only,
 * sent to the agent inside one forget/prune `command.run` and never persisted there), host
 * default hooks, and the reported lock list. Every set and every use is audited, never the value.
 */
export class MaintenanceService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly schedules: ScheduleService,
  ) {}

  private async repoOf(hostId: string, r: Repositories = this.d.repos) {
    const host = await r.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const repo = host.repo_id ? await r.repos.findById(host.repo_id) : undefined;
    return { host, repo };
  }

  /** Sets (or with `null` clears) the maintenance credential of the host's primary repository. Admin only. */
  async setCredential(actor: Actor, hostId: string, input: MaintenanceCredentialInput | null): Promise<{ set: boolean }> {
    if (!isAdmin(actor)) throw new DomainError('forbidden', 'only admins may set the maintenance credential');
    const { repo } = await this.repoOf(hostId);
    if (!repo) throw new DomainError('invalid_state', 'the host has no repository yet');
    return this.seal(actor, repo, input, { host_id: hostId });
  }

  /** Sets (or with `null` clears) the maintenance credential of any repository (primary or not). Admin only. */
  async setRepositoryCredential(actor: Actor, repoId: string, input: MaintenanceCredentialInput | null): Promise<{ set: boolean }> {
    if (!isAdmin(actor)) throw new DomainError('forbidden', 'only admins may set the maintenance credential');
    const repo = await this.d.repos.repos.findById(repoId);
    if (!repo) throw notFound('repository', repoId);
    return this.seal(actor, repo, input, { repository_id: repoId });
  }

  private async seal(actor: Actor, repo: RepoRow, input: MaintenanceCredentialInput | null, about: Record<string, string>): Promise<{ set: boolean }> {
    if (input && input.url && /^(rest:)?[a-z0-9+]+:\/\/[^/@]*@/i.test(input.url)) {
      throw new DomainError('validation_failed', 'put the REST user in rest_username/rest_password, not in the URL', { url: 'no credentials in the URL' });
    }
    const sealed: Sealed | null = input ? { url: input.url || null, rest_username: input.rest_username, rest_password: input.rest_password } : null;
    await this.d.repos.repos.update(repo.id, {
      maintenance_enc: sealed ? this.d.box.sealJson(sealed, `maintenance:${repo.id}`) : null,
      maintenance_set_at: sealed ? iso(this.d.now()) : null,
    });
    await this.audit.record(actor, sealed ? 'repo.maintenance_credential.set' : 'repo.maintenance_credential.clear', { kind: 'repo', id: repo.id },
      { ...about, ...(sealed ? { rest_username: sealed.rest_username, url: sealed.url } : {}) });
    return { set: sealed !== null };
  }

  /** Whether a maintenance credential is stored, for whom, since when — never the password. `append_only` is the enforced flag (see enforcedAppendOnly). */
  async credentialStatus(hostId: string): Promise<{ set: boolean; rest_username: string | null; url: string | null; set_at: string | null; append_only: boolean }> {
    return this.status((await this.repoOf(hostId)).repo);
  }

  /** credentialStatus of any repository. */
  async repositoryCredentialStatus(repoId: string): Promise<{ set: boolean; rest_username: string | null; url: string | null; set_at: string | null; append_only: boolean }> {
    const repo = await this.d.repos.repos.findById(repoId);
    if (!repo) throw notFound('repository', repoId);
    return this.status(repo);
  }

  private status(repo: RepoRow | undefined): { set: boolean; rest_username: string | null; url: string | null; set_at: string | null; append_only: boolean } {
    if (!repo?.maintenance_enc) return { set: false, rest_username: null, url: null, set_at: null, append_only: enforcedAppendOnly(repo) };
    const s = this.d.box.openJson<Sealed>(repo.maintenance_enc, `maintenance:${repo.id}`);
    return { set: true, rest_username: s.rest_username, url: s.url, set_at: repo.maintenance_set_at, append_only: enforcedAppendOnly(repo) };
  }

  /**
   * Refuses a forget/prune that could only fail: the repository is append-only (enforced: a REST
   * server) and no maintenance credential is stored. Returns a note when the stored flag is
   * ignored because the backend cannot enforce it (a repository added as append-only before
   * issue 22, e.g. a local path), null otherwise. Other kinds pass with null.
   */
  async precheck(hostId: string, kind: string): Promise<string | null> {
    if (!MAINTENANCE_KINDS.has(kind)) return null;
    const { repo } = await this.repoOf(hostId);
    if (enforcedAppendOnly(repo) && !repo?.maintenance_enc) {
      throw new DomainError('invalid_state', `${kind} deletes data, which the host's append-only credential cannot do: set the maintenance credential (Repo tab, admin) first`);
    }
    return repo?.append_only === 1 && !repo.maintenance_enc ? ignoredFlagNote(kind) : null;
  }

  /**
   * The one-job credential for a forget/prune dispatch, or undefined (other kinds, or none set).
   * Records `repo.maintenance_credential.use` with the job's acting user or schedule.
   */
  async credentialFor(job: JobRow, r: Repositories = this.d.repos): Promise<JobCredential | undefined> {
    if (!MAINTENANCE_KINDS.has(job.kind)) return undefined;
    const { repo } = await this.repoOf(job.host_id, r);
    if (!repo?.maintenance_enc || !repo.password_secret_id) return undefined;
    const pw = await r.repos.findCredential(repo.password_secret_id);
    if (!pw) return undefined;
    const s = this.d.box.openJson<Sealed>(repo.maintenance_enc, `maintenance:${repo.id}`);
    const user = job.actor_kind === 'user' && job.actor_id ? await r.users.findById(job.actor_id) : undefined;
    await this.audit.record({ kind: 'system' }, 'repo.maintenance_credential.use', { kind: 'job', id: job.id }, {
      host_id: job.host_id, job_kind: job.kind, rest_username: s.rest_username,
      acting: job.actor_kind === 'user' ? { user_id: job.actor_id, username: user?.username ?? null } : { schedule_id: job.schedule_id },
    }, r.audit);
    return {
      repository: s.url ?? repo.url,
      password: this.d.box.open(pw.secret_enc, `credential:${pw.id}`),
      rest_username: s.rest_username,
      rest_password: s.rest_password,
    };
  }

  /**
   * A forget/prune on a non-primary repository: its config with the maintenance credential in
   * place of the routine REST user (and the maintenance URL, when one is set), audited as a use;
   * the config unchanged for other kinds or when none is set.
   */
  async repositoryFor(job: JobRow, config: RepositoryConfig, r: Repositories = this.d.repos): Promise<RepositoryConfig> {
    if (!MAINTENANCE_KINDS.has(job.kind) || !job.repository_id) return config;
    const repo = await r.repos.findById(job.repository_id);
    if (!repo?.maintenance_enc) return config;
    const s = this.d.box.openJson<Sealed>(repo.maintenance_enc, `maintenance:${repo.id}`);
    await this.audit.record({ kind: 'system' }, 'repo.maintenance_credential.use', { kind: 'job', id: job.id }, {
      host_id: job.host_id, repository_id: repo.id, job_kind: job.kind, rest_username: s.rest_username,
      acting: job.actor_kind === 'user' ? { user_id: job.actor_id } : { schedule_id: job.schedule_id },
    }, r.audit);
    return { ...config, url: s.url ?? config.url, credentials: { backend: 'rest', username: s.rest_username, password: s.rest_password } };
  }

  /**
   * For deletes outside forget/prune (removing a cross-host restore's temporary key): the
   * maintenance credential of the host's repository, `undefined` when none is set, and whether
   * the repository is append-only (then a delete without it cannot work). Audited on use.
   */
  async deleteCredential(hostId: string, jobId: string): Promise<{ appendOnly: boolean; credential: JobCredential | undefined }> {
    const { repo } = await this.repoOf(hostId);
    const appendOnly = enforcedAppendOnly(repo);
    if (!appendOnly || !repo?.maintenance_enc || !repo.password_secret_id) return { appendOnly, credential: undefined };
    const pw = await this.d.repos.repos.findCredential(repo.password_secret_id);
    if (!pw) return { appendOnly, credential: undefined };
    const s = this.d.box.openJson<Sealed>(repo.maintenance_enc, `maintenance:${repo.id}`);
    await this.audit.record({ kind: 'system' }, 'repo.maintenance_credential.use', { kind: 'job', id: jobId }, { host_id: hostId, job_kind: 'restore', purpose: 'remove the temporary restore key', rest_username: s.rest_username });
    return { appendOnly, credential: { repository: s.url ?? repo.url, password: this.d.box.open(pw.secret_enc, `credential:${pw.id}`), rest_username: s.rest_username, rest_password: s.rest_password } };
  }

  /** Whether the host's repository is (enforced) append-only with no maintenance credential set (deletes would fail). */
  async cannotDelete(hostId: string): Promise<boolean> {
    const { repo } = await this.repoOf(hostId);
    return enforcedAppendOnly(repo) && !repo?.maintenance_enc;
  }

  /** Host default hooks for backup schedules without their own (admin only, sealed, audited, pushed). */
  async setHostHooks(actor: Actor, hostId: string, hooks: { pre_hook: string | null; post_hook: string | null }): Promise<{ has_pre_hook: boolean; has_post_hook: boolean }> {
    if (!isAdmin(actor)) throw new DomainError('forbidden', 'only admins may edit hooks');
    const { host } = await this.repoOf(hostId);
    const pre = hooks.pre_hook?.trim() ? hooks.pre_hook : null;
    const post = hooks.post_hook?.trim() ? hooks.post_hook : null;
    await this.d.repos.hosts.update(hostId, {
      pre_hook_default_enc: pre ? this.d.box.seal(pre, `hook:pre-default:${hostId}`) : null,
      post_hook_default_enc: post ? this.d.box.seal(post, `hook:post-default:${hostId}`) : null,
      schedule_version: host.schedule_version + 1,
    });
    await this.audit.record(actor, 'host.hooks.update', { kind: 'host', id: hostId }, { pre_hook_set: pre !== null, post_hook_set: post !== null });
    await this.schedules.sendTo(hostId);
    return { has_pre_hook: pre !== null, has_post_hook: post !== null };
  }

  /** Decrypted host default hooks (for schedule.set only). */
  async hostHooks(hostId: string): Promise<{ pre_hook: string | null; post_hook: string | null }> {
    const h = await this.d.repos.hosts.findById(hostId);
    return {
      pre_hook: h?.pre_hook_default_enc ? this.d.box.open(h.pre_hook_default_enc, `hook:pre-default:${hostId}`) : null,
      post_hook: h?.post_hook_default_enc ? this.d.box.open(h.post_hook_default_enc, `hook:post-default:${hostId}`) : null,
    };
  }

  async scheduleHost(scheduleId: string): Promise<{ host_id: string }> {
    const row = await this.d.repos.schedules.findById(scheduleId);
    if (!row) throw notFound('schedule', scheduleId);
    return { host_id: row.host_id };
  }

  /** Flips a schedule's enabled flag, keeping its sealed hooks; bumps the version and pushes. */
  async toggleSchedule(actor: Actor, scheduleId: string): Promise<{ host_id: string; enabled: boolean }> {
    if (actor.kind === 'user' && actor.role === 'viewer') throw new DomainError('forbidden', 'viewers cannot change schedules');
    const row = await this.d.repos.schedules.findById(scheduleId);
    if (!row) throw notFound('schedule', scheduleId);
    const enabled = row.enabled === 1 ? 0 : 1;
    const host = await this.d.repos.hosts.findById(row.host_id);
    await this.d.repos.schedules.update(scheduleId, { enabled, updated_at: iso(this.d.now()) });
    await this.d.repos.hosts.update(row.host_id, { schedule_version: (host?.schedule_version ?? 0) + 1 });
    await this.audit.record(actor, 'schedule.update', { kind: 'schedule', id: scheduleId }, { host_id: row.host_id, enabled: enabled === 1 });
    await this.schedules.sendTo(row.host_id);
    return { host_id: row.host_id, enabled: enabled === 1 };
  }

  /** Cron validation + description + next five runs (the editor preview). */
  preview(expr: string, timeZone: string | null): CronPreview {
    return cronPreview(expr, timeZone, this.d.now());
  }

  /**
   * Enabled schedules whose first fire time after their last run lies more than `graceMs`
   * (default 10 min) in the past with no job queued or running: missed while the host was away.
   */
  async overdue(graceMs = 10 * 60_000): Promise<{ schedule_id: string; host_id: string; kind: string; cron_expr: string; missed_at: string; last_run_at: string | null }[]> {
    const q = new MaintenanceRepository(this.d.db);
    const rows = await q.enabledSchedules();
    const ids = rows.map((r) => r.id);
    const [last, busy] = await Promise.all([q.lastRunPerSchedule(ids), q.busySchedules(ids)]);
    const now = this.d.now();
    const out = [];
    for (const s of rows) {
      const missed = overdueSince(s, last.get(s.id), busy.has(s.id), now, graceMs);
      if (missed) out.push({ schedule_id: s.id, host_id: s.host_id, kind: s.kind, cron_expr: s.cron_expr, missed_at: missed.toISOString(), last_run_at: last.get(s.id) ?? null });
    }
    return out;
  }

  /** The last listed locks with holder, age and whether each is stale (the Repo tab, `GET /api/hosts/:id/locks`). */
  async locks(hostId: string): Promise<RepoLockView[]> {
    const { repo } = await this.repoOf(hostId);
    return repo ? repoLockFields(repo, this.d.now()).locks : [];
  }
}
